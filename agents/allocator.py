"""The C library's allocator, tuned for a trainer's many large short-lived tensors."""

from __future__ import annotations

import ctypes
import platform

GLIBC_M_TRIM_THRESHOLD, GLIBC_M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)


def keep_freed_memory(mmap_threshold: int = 32 << 20) -> bool:
    """Let glibc's malloc keep freed memory for reuse instead of handing it back to the
    kernel; return whether it was set (only where the C library is glibc).

    A PPO update allocates and frees some hundred ~1 MB tensors. By default glibc returns the
    top of its heap to the kernel whenever more than twice the largest freed chunk is free
    there, so the next minibatch's tensors are fresh pages again: ~1,000 page faults per
    128-frame minibatch, 10-20% of its time (docs/results.md, attempt 10). Here chunks up to
    ``mmap_threshold`` come from the heap and up to twice that stays in it (the values glibc's
    own adaptive rule ends at), so a trainer's steady state makes no page faults. Process-wide
    and bit for bit: only where memory comes from changes.
    """
    if platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(None)
    return bool(
        libc.mallopt(GLIBC_M_MMAP_THRESHOLD, mmap_threshold)
        and libc.mallopt(GLIBC_M_TRIM_THRESHOLD, 2 * mmap_threshold)
    )
