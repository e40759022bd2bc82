"""The babyaipp level catalog: one declarative TOML spec per family (see babyaipp.catalog).

Installed as ``babyaipp.levels``; ``suites/`` holds frozen evaluation suites.
"""
