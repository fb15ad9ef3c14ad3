"""Resident-memory readings for the isolation test and benchmark (stdlib only, Linux)."""
from __future__ import annotations

import ctypes
import gc


def rss_mb(trim: bool = True) -> float:
    """This process's resident set size in MB, after garbage collection.

    With ``trim``, freed heap pages are first handed back to the OS
    (glibc ``malloc_trim(0)``). Returns NaN where ``/proc/self/status`` does
    not exist (not Linux).
    """
    gc.collect()
    if trim:
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except OSError:
            pass
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")
