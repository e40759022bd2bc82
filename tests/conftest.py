"""Shared test settings: headless pygame, and the registry of ids under test."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
# One torch/OpenMP thread per test process (set before torch is imported): pytest -n 2 on a
# 2-core machine otherwise oversubscribes the cores, and OpenMP's spin-waiting made a 2.7 s SB3
# test take 46 s.
os.environ.setdefault("OMP_NUM_THREADS", "1")
