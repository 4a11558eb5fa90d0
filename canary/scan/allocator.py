"""Memory for blocks reused rather than asked anew from the kernel for each block.

Every block scanned allocates a few buffers of its size (the block read, its translation) and
frees them. glibc's malloc maps a buffer of megabytes afresh each time and unmaps it when freed,
so every page of every buffer faulted in again: a quarter of a million page faults and a fifth
of the CPU time of a 581 MB scan, in the kernel. Raising its thresholds keeps freed buffers
for the next block (`mallopt`, glibc only; elsewhere nothing changes). Memory stays bounded:
what is kept is what the next block takes again.
"""
from __future__ import annotations

import ctypes
import functools

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20   # glibc's maximum on 64-bit systems; blocks are 4 MB
TRIM_THRESHOLD = 64 << 20   # free memory kept at the top of the heap before it is given back


@functools.cache
def reuse_block_memory() -> bool:
    """Once per process (forked workers inherit it); False where the C library is not glibc."""
    try:
        mallopt = ctypes.CDLL(None).mallopt   # the C library this Python runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
