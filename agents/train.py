"""``python -m babyaipp.agents.train [flags]``: the trainer's command line (see ``--help``).

The trainer itself is :mod:`babyaipp.agents.trainer`.
"""

from babyaipp.agents.trainer import main

if __name__ == "__main__":
    main()
