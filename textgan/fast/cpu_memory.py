"""Keep freed memory in the process on Linux/glibc, so that large temporary tensors do not page-fault again.

PyTorch's CPU tensors come from `malloc`. glibc serves large requests with fresh `mmap`s (and trims the heap top
back to the kernel), so every new multi-megabyte temporary (im2col windows, `[rows, vocab]` logits, activations)
touches new pages, and the kernel zero-fills each 4 KiB page on first touch. Monte Carlo rollouts allocate and free
such temporaries thousands of times per call (page faults and their cost measured: `experiments/bench_rollout.md`,
`--allocator-defaults`).

It is the in-process equivalent of `MALLOC_MMAP_THRESHOLD_=... MALLOC_TRIM_THRESHOLD_=...` (or of preloading
jemalloc/tcmalloc, as PyTorch's CPU performance guide suggests): the resident size no longer shrinks after a peak.
`textgan.runs.train.train` calls it for runs on a CPU unless `keep_freed_memory=false` (on GPUs the host allocator
is not where the time goes); on other C libraries it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import platform

log = logging.getLogger(__name__)

# mallopt(3) parameters of glibc's malloc.h
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
MMAP_THRESHOLDS = (1 << 30, 32 << 20)  # only requests above 1 GiB get their own mapping (older glibc: 32 MiB max)
TRIM_THRESHOLD = 2**31 - 1  # never give the heap top back
TOP_PAD = 64 * 1024 * 1024  # grow the heap in 64 MiB steps


def keep_freed_memory() -> bool:
    """Tune glibc's malloc to reuse freed memory instead of returning it to the kernel. True if it applied."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = any(libc.mallopt(M_MMAP_THRESHOLD, value) == 1 for value in MMAP_THRESHOLDS)
        ok = ok and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and libc.mallopt(M_TOP_PAD, TOP_PAD) == 1
    except (OSError, AttributeError):
        return False
    if not ok:
        log.debug("mallopt refused a setting; the allocator keeps its defaults")
    return ok
