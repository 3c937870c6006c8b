"""Changeover families and machine states for planning from the database (issue 19, phase 2).

**Changeover families (换型族).** A routing operation's ``setup_family`` (HT250, DN50 …) names what a
machine must be set up for. Two operations of the same family run one after the other without a
changeover; switching to another family costs that operation's setup minutes. In the problem
(docs/scheduling.md, ``attributes`` + ``setup_matrices``) every operation with a family carries
``attributes: {"family": F}`` and the matrix ``family`` says: same family 0 minutes, into family F
``base(F)`` minutes, where ``base(F)`` is the smallest setup time among F's operations and machines;
an operation whose setup is longer keeps the rest in its own duration (so a family whose operations
share one setup time — the usual case — is exact). A machine's ``setup_family`` is what it is set up for
now (the resource's ``initial``); a machine without one pays the setup of its first job. Operations
without a family keep their setup minutes in their duration, as before. A task carries no family of its
own: it is read from the routing its order was released with (operation ``op_seq`` = the task's ``seq``).

**Machine states (设备状态).** A machine ``down`` (故障停机) or ``maintenance`` (保养) is unavailable from
now for ``MOM_PRODUCTION_BREAKDOWN_HOURS`` hours (default 4): the resource's ``downtime`` from minute 0.
A task that may run only there waits; one with an alternative machine may move to it.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

FAMILY = "family"                 # the problem's attribute and setup matrix
UNKNOWN = "-"                     # a machine whose family nobody recorded: its first job pays its setup
UNAVAILABLE = ("down", "maintenance")
STATE_ZH = {"down": "故障停机", "maintenance": "保养"}
DEFAULT_BREAKDOWN_HOURS = 4.0


def breakdown_hours() -> float:
    """``MOM_PRODUCTION_BREAKDOWN_HOURS`` (the setting the breakdown proposals use too), default 4."""
    from mom.platform.settings import get_settings   # never at import: settings are overridden in tests

    try:
        value = float(getattr(get_settings(), "production_breakdown_hours", DEFAULT_BREAKDOWN_HOURS))
    except (TypeError, ValueError):
        return DEFAULT_BREAKDOWN_HOURS
    return value if math.isfinite(value) and value > 0 else DEFAULT_BREAKDOWN_HOURS


def unavailable_minutes(machine: Mapping[str, Any], hours: float) -> int:
    """How many minutes from now ``machine`` cannot work: ``hours`` when it is down or in maintenance, else 0."""
    return int(math.ceil(hours * 60)) if machine.get("status") in UNAVAILABLE else 0


def routing_families(conn: Connection, f_routing: Any, routing_ids: Iterable[int]) -> dict[tuple[int, int], str]:
    """``{(routing id, op_seq): setup_family}`` of the routings' operations that name a family."""
    ids = sorted({int(i) for i in routing_ids if i is not None})
    if not ids or "operations" not in f_routing.children:
        return {}
    t = f_routing.children["operations"]
    if "setup_family" not in t.c or "op_seq" not in t.c:
        return {}
    out: dict[tuple[int, int], str] = {}
    for chunk in range(0, len(ids), 900):
        q = sa.select(t.c.parent_id, t.c.op_seq, t.c.setup_family).where(t.c.parent_id.in_(ids[chunk:chunk + 900]))
        for parent, seq, family in conn.execute(q):
            if seq is not None and family is not None and str(family).strip():
                out.setdefault((int(parent), int(seq)), str(family).strip())
    return out


class Families:
    """The families of the tasks being planned, their base setup times and the problem's matrix."""

    def __init__(self, by_operation: Mapping[tuple[int, int], str]) -> None:
        self.by_operation = by_operation
        self.base: dict[str, Decimal] = {}

    def of(self, order: Mapping[str, Any], task: Mapping[str, Any]) -> str | None:
        """The family of ``task`` (of ``order``): its routing operation's ``setup_family``, or None."""
        if order.get("routing") is None or task.get("seq") is None:
            return None
        return self.by_operation.get((int(order["routing"]), int(task["seq"])))

    def note_setups(self, family: str, setups: Iterable[Decimal]) -> None:
        """Take ``setups`` (minutes, each machine's for one operation of ``family``) into its base time."""
        for s in setups:
            self.base[family] = min(self.base.get(family, s), s)

    def rest(self, family: str | None, setup: Decimal) -> Decimal:
        """What of ``setup`` stays in the operation's own duration: all of it without a family, else the
        part above the family's base (the changeover carries the base)."""
        if family is None:
            return setup
        return max(Decimal(0), setup - self.base.get(family, Decimal(0)))

    def matrix(self) -> dict[str, Any]:
        """The problem's ``setup_matrices`` (empty when no task has a family)."""
        if not self.base:
            return {}
        rules = [{"to": f, "time": int(math.ceil(b))} for f, b in sorted(self.base.items())]
        return {FAMILY: {"default": 0, "same": 0, "rules": rules}}

    def initial(self, machine: Mapping[str, Any], running: str | None) -> dict[str, str]:
        """The machine's state before its first job: the family of the task running on it, else its
        recorded ``setup_family``, else unknown (the first job pays its setup)."""
        if not self.base:
            return {}
        current = running or str(machine.get("setup_family") or "").strip() or UNKNOWN
        return {FAMILY: current}
