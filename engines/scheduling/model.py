"""The scheduling model: a validated problem's resources, orders, operations and changeover matrices.

``problem.load`` builds these from a ``mom.schedule-problem/1`` document; the dispatcher, the CP-SAT
model, the checker and the reports read them. Times are whole minutes from the problem's time 0.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from mom.engines.scheduling import calendar as cal

FORMAT = "mom.schedule-problem/1"
TERMS = ("weighted_tardiness", "makespan", "setup_time", "changes", "late_orders")
MAX_HORIZON = 10 * 366 * cal.DAY
KINDS_PRIMARY = {"machine", "workcenter", "batch"}


@dataclass(frozen=True)
class Mode:
    resource: int
    duration: int
    per_piece: float            # minutes per piece, for transfer batches

    def batch_time(self, pieces: int) -> int:
        return min(self.duration, math.ceil(self.per_piece * pieces - 1e-9))


@dataclass(frozen=True)
class Need:
    candidates: tuple[int, ...]
    count: int


@dataclass(frozen=True)
class Pinned:
    mode: int
    start: int
    end: int
    secondary: tuple[int, ...] = ()


@dataclass
class Operation:
    index: int
    order: int
    id: str
    name: Any
    modes: list[Mode]
    preds: tuple[int, ...]
    transfer_batch: int | None
    min_wait: int
    max_wait: int | None
    attrs: dict[str, str]
    needs: list[Need]
    release: int                # order release
    materials: list[tuple[str, int]]
    pausable: bool
    units: int
    family: str | None
    pinned: Pinned | None = None
    succs: list[int] = field(default_factory=list)
    order_id: str = ""
    ready: int = 0               # release and material arrival: no start before

    def __post_init__(self) -> None:
        self.ready = max([self.release, *(t for _, t in self.materials)])

    @property
    def key(self) -> str:
        return f"{self.order_id}:{self.id}"


@dataclass
class Order:
    index: int
    id: str
    name: Any
    due: int | None
    weight: float
    release: int
    quantity: float | None
    ops: list[int]


@dataclass
class Resource:
    index: int
    id: str
    name: Any
    kind: str
    capacity: int
    windows: cal.Windows | None      # working time (calendar minus downtime); None = always
    downtime: cal.Windows            # explicit unavailability (maintenance, breakdowns)
    setup_attrs: tuple[str, ...]
    initial: dict[str, str]
    skills: frozenset[str]

    @property
    def unary(self) -> bool:
        return self.kind in ("machine", "operator", "tool") and self.capacity == 1


@dataclass(frozen=True)
class SetupMatrix:
    default: int
    same: int
    rules: dict[tuple[str | None, str | None], int]

    def time(self, a: str | None, b: str | None) -> int:
        if a is None or b is None:
            return 0
        if a == b:
            return self.same
        for key in ((a, b), (a, None), (None, b)):
            if key in self.rules:
                return self.rules[key]
        return self.default


@dataclass
class Problem:
    raw: dict[str, Any]
    name: str
    origin: dt.datetime | None
    horizon: int
    frozen_until: int
    resources: list[Resource]
    orders: list[Order]
    ops: list[Operation]
    matrices: dict[str, SetupMatrix]
    objective_mode: str
    terms: tuple[str, ...]
    weights: dict[str, float]
    res_by_id: dict[str, int] = field(default_factory=dict)
    op_by_key: dict[tuple[str, str], int] = field(default_factory=dict)
    regrow: Any = None

    def grow(self) -> bool:
        """Double the horizon (calendars expanded further); False when it cannot grow."""
        if "horizon" in self.raw or self.horizon >= MAX_HORIZON or self.regrow is None:
            return False
        self.horizon = min(MAX_HORIZON, self.horizon * 2)
        for old, new in zip(self.resources, self.regrow(self.horizon)):
            old.windows, old.downtime = new.windows, new.downtime
        return True

    def setup(self, r: int, prev: dict[str, str] | None, nxt: dict[str, str]) -> int:
        """Changeover minutes on resource ``r`` from an operation with attributes ``prev`` to one with ``nxt``."""
        if prev is None:
            return 0
        return sum(self.matrices[a].time(prev.get(a), nxt.get(a)) for a in self.resources[r].setup_attrs)

    def initial_setup(self, r: int, nxt: dict[str, str]) -> int:
        init = self.resources[r].initial
        return self.setup(r, init, nxt) if init else 0

    def has_setups(self, r: int) -> bool:
        res = self.resources[r]
        return res.kind == "machine" and bool(res.setup_attrs)

    def max_setup(self) -> int:
        return longest_changeover(self.matrices)


def longest_changeover(matrices: dict[str, SetupMatrix]) -> int:
    """The longest changeover any pair of operations can need (each matrix's largest time, added up)."""
    return sum(max([m.default, m.same, *m.rules.values()]) for m in matrices.values())
