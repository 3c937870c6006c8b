"""How a solve measures the time it may spend: wall-clock seconds, or deterministic work.

Wall clock (the default) is what a planner waits for: ``time_limit`` seconds. Deterministic work
makes a solve reproducible: the same problem, seed and limit give the same schedule on any machine
and under any load (tests; comparing two versions of the solver). Then CP-SAT stops on its own
deterministic time (``max_deterministic_time``: its count of work done, about a second on a current
CPU) instead of its wall clock and interleaves its workers in a fixed order, and the loops that
spend a budget (dispatching rules, randomised restarts, time windows) count the work of each step
instead of reading the clock.
"""
from __future__ import annotations

import time

#: deterministic work charged for one dispatching pass, per operation (a pass over 1,000 operations
#: takes about 0.05 s on a current CPU)
DISPATCH_WORK_PER_OP = 5e-5


class Clock:
    """Wall-clock time since the clock was made."""

    deterministic = False

    def __init__(self) -> None:
        self._t0 = time.perf_counter()

    def elapsed(self) -> float:
        """Seconds (or units of work) spent so far."""
        return time.perf_counter() - self._t0

    def charge(self, work: float) -> None:
        """Count ``work`` done (deterministic clock only; wall-clock time passes by itself)."""

    def charge_dispatch(self, n_ops: int) -> None:
        """Count one dispatching pass over ``n_ops`` operations."""
        self.charge(n_ops * DISPATCH_WORK_PER_OP)


class WorkClock(Clock):
    """Deterministic work: CP-SAT's deterministic time plus a fixed charge per dispatching pass."""

    deterministic = True

    def __init__(self) -> None:
        super().__init__()
        self._spent = 0.0

    def elapsed(self) -> float:
        return self._spent

    def charge(self, work: float) -> None:
        self._spent += work


def make(deterministic: bool) -> Clock:
    """The clock a solve with these options runs on."""
    return WorkClock() if deterministic else Clock()
