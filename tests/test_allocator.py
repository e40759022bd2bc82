"""keep_freed_memory: a trainer's allocate-and-free pattern stops making page faults."""

import platform
import subprocess
import sys

import pytest

from babyaipp.agents.allocator import keep_freed_memory

# Allocate and free 8 arrays of 1 MB 50 times (a PPO minibatch's pattern, in numpy, which
# uses the same malloc), then print the minor page faults per round.
PATTERN = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from babyaipp.agents.allocator import keep_freed_memory
    assert keep_freed_memory()
faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
before = faults()
for _ in range(50):
    arrays = [np.ones(1 << 18, np.float32) for _ in range(8)]
    del arrays
print((faults() - before) / 50)
"""


def faults_per_round(mode: str) -> float:
    run = subprocess.run(
        [sys.executable, "-c", PATTERN, mode], capture_output=True, text=True, check=True
    )
    return float(run.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_keep_freed_memory_stops_the_page_faults():
    # a 1 MB array is 256 pages: by default each round faults most of its 2,048 pages again
    assert faults_per_round("default") > 500
    assert faults_per_round("keep") < 100  # the first round's faults, spread over 50


def test_keep_freed_memory_says_whether_it_applied():
    assert keep_freed_memory() is (platform.libc_ver()[0] == "glibc")
