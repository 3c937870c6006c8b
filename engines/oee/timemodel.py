"""The ISO 22400-2 time model and KPIs of one machine (or a sum of machines) — pure, no database.

Time elements (seconds), after ISO 22400-2:2014 as read by OPC 40501 MachineTool Annex C.2 and
OPC 40001-1 Table 68 (see /docs/oee.md):

- POT  planned operation time 计划运行时间: the working calendar's shifts;
- PDOT planned downtime 计划停机: ``planned_stop`` states (and stops classified with a reason of loss
  category ``planned``) inside POT;
- PBT  planned busy time 计划占用时间 = POT − PDOT;
- inside PBT: APT (``running`` 生产), AUST (``setup`` 换型调试), ADET (``idle`` 待机 — delay with an order),
  ADOT (``down`` 停机); PBT with no recorded state is ``no_data`` 无数据: shown as its own column and
  left out of A's denominator (unknown time is neither production nor a loss — a machine not yet connected
  must not pull the plant's total down; see /docs/oee.md);
- quantities: PQ produced, GQ good, SQ scrap, RQ rework; ``ideal`` = Σ PRI × PQ, the planned run time
  per item (from the routing) times the quantity produced with it.

A = APT / (PBT − no_data), E = PRI × PQ / APT, QR = GQ / PQ, OEE = A × E × QR. A ratio whose denominator is zero
is None, never 0 or 1. E above 1 (a standard time too long, or a count too high) is returned as
computed and flagged (``effectiveness_over_1``), never clamped.

The six big losses (六大损失) in time units: breakdown 设备故障 (down time), setup 换型调整 (setup time),
minor_stop 小停机空转 (idle time), reduced_speed 速度降低 (APT − ideal), startup_reject 启动废品 and
production_reject 生产废品 (PRI × scrap). A stop with a reason counts to the reason's loss category.
"""
from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

STATES = ("running", "idle", "down", "setup", "planned_stop")
LOSSES = ("breakdown", "setup", "minor_stop", "reduced_speed", "startup_reject", "production_reject")
STOP_LOSS = {"down": "breakdown", "setup": "setup", "idle": "minor_stop"}
PLANNED = "planned"
_ELEMENT = {"running": "apt", "setup": "aust", "idle": "adet", "down": "adot"}


@dataclass(frozen=True)
class Window:
    """One shift on one day (half-open [start, end), epoch seconds): ``day`` is the production day
    (the date the shift starts, ISO text), ``shift`` the shift's name."""

    start: float
    end: float
    day: str
    shift: str


@dataclass(frozen=True)
class Span:
    """One recorded machine state over [start, end) (epoch seconds); ``loss`` is the loss category of
    its stop reason when one was given."""

    start: float
    end: float
    state: str
    loss: str | None = None
    reason: int | None = None


@dataclass
class Tally:
    """Sums of the time elements (seconds), quantities and losses; tallies add up (machines → line)."""

    pot: float = 0.0
    pdot: float = 0.0
    apt: float = 0.0
    aust: float = 0.0
    adet: float = 0.0
    adot: float = 0.0
    no_data: float = 0.0
    pq: float = 0.0
    gq: float = 0.0
    sq: float = 0.0
    rq: float = 0.0
    ideal: float = 0.0            # Σ PRI × PQ, seconds
    ideal_scrap: float = 0.0      # Σ PRI × SQ
    ideal_startup: float = 0.0    # Σ PRI × SQ of scrap made just after a setup
    pq_without_pri: float = 0.0   # produced with no planned run time known: left out of E
    stop_losses: dict[str, float] = field(default_factory=dict)
    stops: dict[tuple[str, int | None], float] = field(default_factory=dict)   # (state, stop reason) → seconds

    def __iadd__(self, other: Tally) -> Tally:
        for f in fields(self):
            if f.name in ("stop_losses", "stops"):
                mine = getattr(self, f.name)
                for k, v in getattr(other, f.name).items():
                    mine[k] = mine.get(k, 0.0) + v
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    @property
    def pbt(self) -> float:
        return self.pot - self.pdot

    def add_state(self, state: str, loss: str | None, seconds: float, reason: int | None = None) -> None:
        """``seconds`` of ``state`` (stopped for ``reason``, of loss category ``loss``) inside POT."""
        if seconds <= 0:
            return
        if state != "running":
            self.stops[(state, reason)] = self.stops.get((state, reason), 0.0) + seconds
        if state == "planned_stop" or loss == PLANNED:
            self.pdot += seconds
            return
        element = _ELEMENT.get(state)
        if element is None:
            self.no_data += seconds
            return
        setattr(self, element, getattr(self, element) + seconds)
        if state in STOP_LOSS:
            key = loss if loss in LOSSES else STOP_LOSS[state]
            self.stop_losses[key] = self.stop_losses.get(key, 0.0) + seconds

    def add_output(self, total: float, good: float, scrap: float, rework: float = 0.0, *,
                   pri_s: float | None, startup: bool = False) -> None:
        """Parts produced (``total`` = good + scrap + rework) with the planned run time per item ``pri_s``."""
        self.pq += total
        self.gq += good
        self.sq += scrap
        self.rq += rework
        if pri_s is None:
            self.pq_without_pri += total
            return
        self.ideal += pri_s * total
        self.ideal_scrap += pri_s * scrap
        if startup:
            self.ideal_startup += pri_s * scrap


def ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def kpis(t: Tally) -> dict[str, Any]:
    """The time model, the ISO 22400-2 KPIs and the six big losses of a tally (times in seconds)."""
    pbt = t.pbt
    aoet = t.apt + t.aust + t.adet + t.adot
    pq_timed = t.pq - t.pq_without_pri
    known = pbt - t.no_data            # planned busy time with a recorded state
    a = ratio(t.apt, known)
    # E only over the parts whose planned run time is known: parts without it neither help nor hurt
    e = ratio(t.ideal, t.apt) if pq_timed > 0 or t.pq == 0 else None
    qr = ratio(t.gq, t.pq)
    if None not in (a, e, qr):
        oee = a * e * qr
    else:       # planned time and nothing good made: no OEE to speak of but zero
        oee = 0.0 if known > 0 and t.gq == 0 else None
    losses = {k: 0.0 for k in LOSSES}
    for k, v in t.stop_losses.items():
        losses[k] = losses.get(k, 0.0) + v
    losses["reduced_speed"] += (t.apt - t.ideal) if pq_timed > 0 or t.pq == 0 else 0.0
    losses["startup_reject"] += t.ideal_startup
    losses["production_reject"] += t.ideal_scrap - t.ideal_startup
    flags = []
    if pbt <= 0:
        flags.append("no_planned_time")
    if e is not None and e > 1:
        flags.append("effectiveness_over_1")
    if t.pq_without_pri > 0:
        flags.append("quantity_without_standard_time")
    if t.no_data > 0:
        flags.append("time_without_state")
    if pbt > 0 and known <= 0:
        flags.append("no_state_data")
    return {
        "time": {"pot_s": t.pot, "pdot_s": t.pdot, "pbt_s": pbt, "apt_s": t.apt, "aust_s": t.aust,
                 "adet_s": t.adet, "adot_s": t.adot, "no_data_s": t.no_data, "aoet_s": aoet,
                 "known_s": known},
        "quantity": {"pq": t.pq, "gq": t.gq, "sq": t.sq, "rq": t.rq, "ideal_s": t.ideal,
                     "pq_without_pri": t.pq_without_pri},
        "availability": a, "effectiveness": e, "quality_rate": qr, "oee": oee,
        "fpy": ratio(t.gq, t.pq),
        "scrap_ratio": ratio(t.sq, t.pq), "rework_ratio": ratio(t.rq, t.pq),
        "utilisation_efficiency": ratio(t.apt, aoet), "technical_efficiency": ratio(t.apt, t.apt + t.adet),
        "setup_rate": ratio(t.aust, aoet),
        "losses_s": losses, "flags": flags,
    }


def split(spans: Sequence[Span], windows: Sequence[Window]) -> dict[tuple[str, str], Tally]:
    """The time elements of one machine per (day, shift): each state cut exactly at the windows' edges.

    ``spans`` and ``windows`` sorted by start, each list without overlaps. A window with no state
    recorded over part of it counts that part as ``no_data``."""
    out: dict[tuple[str, str], Tally] = {}
    i = 0
    for w in windows:
        t = out.setdefault((w.day, w.shift), Tally())
        t.pot += w.end - w.start
        covered = 0.0
        while i < len(spans) and spans[i].end <= w.start:
            i += 1
        j = i
        while j < len(spans) and spans[j].start < w.end:
            s = spans[j]
            overlap = min(s.end, w.end) - max(s.start, w.start)
            if overlap > 0:
                t.add_state(s.state, s.loss, overlap, s.reason)
                covered += overlap
            j += 1
        t.no_data += max(0.0, (w.end - w.start) - covered)
    return out


class Assigner:
    """Which (day, shift) a moment belongs to: the last shift that started at or before it (a count or
    report just after a shift's end belongs to that shift), else the first shift; ``fallback(t)`` names
    the day when the machine has no shift at all."""

    def __init__(self, windows: Sequence[Window], fallback: Any) -> None:
        self.windows = list(windows)
        self.starts = [w.start for w in self.windows]
        self.fallback = fallback

    def key(self, t: float) -> tuple[str, str]:
        if not self.windows:
            return self.fallback(t)
        i = bisect.bisect_right(self.starts, t) - 1
        w = self.windows[max(i, 0)]
        return (w.day, w.shift)


def total(tallies: Iterable[Tally]) -> Tally:
    out = Tally()
    for t in tallies:
        out += t
    return out
