"""How much of the machine other processes used during a measurement."""

from __future__ import annotations

import os
import resource
import time


class ForeignLoad:
    """CPU time used by other processes while a measurement runs (on a shared machine).

    Busy jiffies of the whole machine (/proc/stat) minus this process's own CPU time, as a
    fraction of wall time x CPUs; 0 on a quiet machine, about 0.5 when another process keeps
    one of two cores busy. Resolution 10 ms. ``children=True`` counts the CPU time of
    finished child processes as own (for timing a subprocess).
    """

    HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    @staticmethod
    def _busy() -> float:
        try:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:]]
        except OSError:
            return float("nan")
        return (sum(v[:8]) - v[3] - v[4]) / ForeignLoad.HZ  # all but idle and iowait

    def __init__(self, children: bool = False):
        self.who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF

    def _own(self) -> float:
        r = resource.getrusage(self.who)
        return r.ru_utime + r.ru_stime

    def __enter__(self):
        self.t, self.busy, self.own = time.perf_counter(), self._busy(), self._own()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.t
        other = (self._busy() - self.busy) - (self._own() - self.own)
        self.fraction = max(0.0, other) / (wall * (os.cpu_count() or 1))
