"""Condition monitoring (状态监测, issue 23): drift alarms on process values with the SPC engine's EWMA and
tabular CUSUM (Montgomery, *Introduction to SQC*, §9.1–9.2; the steps are
:func:`mom.engines.reports.spc.timeweighted.ewma_step` / ``cusum_step``, the same maths as the SPC charts).

A ``condition_rule`` 状态监测规则 names a machine, a process value tag (any mapping tag or a vibration
feature such as ``vib_rms``), the method and its parameters, and a target and σ — typed, or estimated from the
first ``baseline_points`` minute means (target = their mean, σ = MR̄/d2(2), as the SPC engine estimates them).

The points are the tag's **minute means**: each flush adds its samples to the minute in progress; a minute is
a point when a sample of a later minute arrives (late samples of an older minute are left out here; they are in
the process values). The rule's state lives on its record (hidden ``engine_state`` plus the read-only figures
shown to the engineer), written without changing the record's version, so each flush costs O(new samples)
and an engineer editing the rule is never refused; changing the method, parameters, target, σ, machine or tag
starts the rule afresh (a new baseline when target or σ is empty).

A point out of control raises one ``device_alarm`` of kind ``drift`` (with the rule and the direction), which
stays open until the statistic is back inside its limits (EWMA: between the limits; CUSUM: both sums ≤ H);
per the rule it notifies the equipment people and opens a repair order (:mod:`mom.engines.devices.alarms`).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections import defaultdict
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.devices import alarms as A
from mom.engines.devices import forms as F
from mom.engines.devices import readings as R
from mom.engines.devices import writes as W
from mom.engines.forms.compile import CompiledForm
from mom.engines.records.context import Ctx
from mom.engines.reports.spc.constants import d2
from mom.engines.reports.spc.timeweighted import cusum_step, ewma_step
from mom.platform.db import tables as T

log = logging.getLogger("mom.devices")
RULE = "condition_rule"
RULE_NEEDS = ("machine", "tag", "method", "lam", "ewma_l", "cusum_k", "cusum_h", "target", "sigma", "baseline_points",
              "min_points", "on_alarm", "engine_state", "active")
METHOD_ZH = {"ewma": "EWMA", "cusum": "CUSUM"}
Q6 = Decimal("0.000001")


@dataclasses.dataclass
class Sample:
    machine: int
    tag: str
    at: dt.datetime
    value: float


def rule_form(conn: Connection, forms: Any) -> CompiledForm | None:
    """The equipment pack's ``condition_rule`` (None when not installed or not the pack's)."""
    get_many = getattr(forms, "get_many", None)
    compiled = get_many(conn, [RULE]).get(RULE) if get_many is not None else None
    if compiled is None or any(compiled.definition.field(k) is None for k in RULE_NEEDS):
        return None
    owner = compiled.memo.get("devices_pack_owner")
    if owner is None:
        owner = compiled.memo["devices_pack_owner"] = conn.execute(sa.select(T.pack_item.c.pack).where(
            T.pack_item.c.kind == "forms", T.pack_item.c.name == RULE)).scalar() or ""
    return compiled if owner == F.PACK else None


def watched(conn: Connection, forms: Any, memo: dict[str, Any]) -> set[tuple[int, str]]:
    """The (machine, tag) pairs active rules watch, re-read only when a rule is saved (``memo``: the consumer's)."""
    compiled = rule_form(conn, forms)
    if compiled is None:
        return set()
    t = compiled.main
    sig = tuple(conn.execute(sa.select(sa.func.count(), sa.func.max(t.c.updated_at), sa.func.sum(t.c.row_version),
                                       sa.func.max(t.c.id)).where(t.c.deleted_at.is_(None))).one()) + (compiled.version,)
    if memo.get("sig") != sig:
        memo["keys"] = {(int(m), str(g)) for m, g in conn.execute(sa.select(t.c.machine, t.c.tag).where(
            t.c.deleted_at.is_(None), t.c.active.is_(True)))}
        memo["sig"] = sig
    return memo["keys"]


def _f(v: Any, default: float | None = None) -> float | None:
    return default if v is None or v == "" else float(v)


def signature(r: dict[str, Any]) -> str:
    """What the state depends on: a change starts the rule afresh."""
    keys = ("machine", "tag", "method", "lam", "ewma_l", "cusum_k", "cusum_h", "target", "sigma", "baseline_points")
    return "|".join("" if r.get(k) is None else str(Decimal(str(r[k])).normalize() if isinstance(r[k], (Decimal, float))
                                                         else r[k]) for k in keys)


class Rule:
    """One rule with its state, stepping through minute means."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row
        self.id, self.machine, self.tag = int(row["id"]), int(row["machine"]), str(row["tag"])
        self.method = str(row.get("method") or "ewma")
        self.lam, self.L = _f(row.get("lam"), 0.2), _f(row.get("ewma_l"), 3.0)
        self.k, self.h = _f(row.get("cusum_k"), 0.5), _f(row.get("cusum_h"), 5.0)
        self.min_points = int(row.get("min_points") or 5)
        self.baseline = max(int(row.get("baseline_points") or 30), 2)
        sig = signature(row)
        try:
            st = json.loads(row.get("engine_state") or "{}")
        except ValueError:
            st = {}
        self.st: dict[str, Any] = st if st.get("sig") == sig else {"sig": sig}
        self.events: list[dict[str, Any]] = []     # out-of-control / back-in-control, in order
        if st.get("sig") not in (None, sig) and st.get("open"):
            self.events.append({"kind": "clear", "at": None})     # settings changed: the open drift alarm ends now
        if "mu" not in self.st and row.get("target") is not None and row.get("sigma") is not None:
            self._start(float(row["target"]), float(row["sigma"]))
        self.dirty = st.get("sig") != sig

    def _start(self, mu: float, sigma: float) -> None:
        self.st.update(mu=mu, sigma=sigma, n=0, z=mu, cp=0.0, cm=0.0, np=0, nm=0)

    def add(self, at: dt.datetime, v: float) -> None:
        """A sample: into the minute in progress; a later minute closes it as a point."""
        minute = R.minute(at).isoformat()
        pm = self.st.get("pm")
        if pm is None or minute > pm:
            if pm is not None:
                self.point(dt.datetime.fromisoformat(pm), self.st["ps"] / self.st["pn"])
            self.st.update(pm=minute, ps=v, pn=1)
        elif minute == pm:
            self.st["ps"] += v
            self.st["pn"] += 1
        else:
            return                       # a late sample of a closed minute
        self.dirty = True

    def point(self, minute: dt.datetime, x: float) -> None:
        st = self.st
        st["at"] = minute.isoformat()
        if "mu" not in st:
            self._baseline(x)
            return
        st["n"] += 1
        mu, s = st["mu"], st["sigma"]
        if self.method == "cusum":
            K, H = self.k * s, self.h * s            # type: ignore[operator]
            st["cp"], st["cm"], st["np"], st["nm"] = cusum_step(st["cp"], st["cm"], st["np"], st["nm"], x, mu=mu, K=K)
            st["upper"], st["lower"] = H, 0.0
            up, down = st["cp"] > H, st["cm"] > H
            stat = st["cp"] if up or not down else st["cm"]
            limit = H
            new_mean = (mu + K + st["cp"] / st["np"]) if up else (mu - K - st["cm"] / st["nm"]) if down else None
        else:
            st["z"], half = ewma_step(st["z"], x, st["n"], lam=self.lam, L=self.L, sigma=s)   # type: ignore[arg-type]
            st["upper"], st["lower"] = mu + half, mu - half
            up, down = st["z"] > st["upper"], st["z"] < st["lower"]
            stat, limit = st["z"], st["upper"] if up or not down else st["lower"]
            new_mean = None
        out = (up or down) and st["n"] >= self.min_points
        if out and not st.get("open"):
            st["open"] = True
            self.events.append({"kind": "raise", "at": minute + dt.timedelta(minutes=1), "value": stat, "limit": limit,
                                "direction": "up" if up else "down", "point": st["n"], "x": x, "new_mean": new_mean})
        elif st.get("open") and not (up or down):
            st["open"] = False
            self.events.append({"kind": "clear", "at": minute + dt.timedelta(minutes=1)})

    def _baseline(self, x: float) -> None:
        st = self.st
        st["bn"] = st.get("bn", 0) + 1
        st["bs"] = st.get("bs", 0.0) + x
        if st.get("px") is not None:
            st["bmr"] = st.get("bmr", 0.0) + abs(x - st["px"])
        st["px"] = x
        if st["bn"] < self.baseline:
            return
        mu = float(self.row["target"]) if self.row.get("target") is not None else st["bs"] / st["bn"]
        sigma = float(self.row["sigma"]) if self.row.get("sigma") is not None else st.get("bmr", 0.0) / (st["bn"] - 1) / d2(2)
        if not sigma > 0:            # a flat baseline: keep collecting until the readings vary
            log.warning("condition rule %s: the baseline readings do not vary; sigma cannot be estimated yet", self.id)
            return
        self._start(mu, sigma)

    def figures(self) -> dict[str, Any]:
        st = self.st

        def q(v: Any) -> Decimal | None:
            return None if v is None else Decimal(repr(float(v))).quantize(Q6)
        cusum = self.method == "cusum"
        return {"engine_state": json.dumps(st, separators=(",", ":"))[:2000], "base_target": q(st.get("mu")),
                "base_sigma": q(st.get("sigma")), "points": st.get("n", 0),
                "statistic": q(st.get("cp") if cusum else st.get("z") if "n" in st and st["n"] else None),
                "statistic2": q(st.get("cm")) if cusum else None, "upper": q(st.get("upper")), "lower": q(st.get("lower")),
                "evaluated_at": dt.datetime.fromisoformat(st["at"]) if st.get("at") else None}


def evaluate(conn: Connection, forms: Any, ctx: Ctx, samples: list[Sample], machine_names: dict[int, str]
             ) -> tuple[int, set[int]]:
    """Feed this flush's samples to the active rules of their machines and tags; raise / clear drift alarms.
    Returns the alarms raised and the machines whose drift alarms changed."""
    if not samples:
        return 0, set()
    compiled = rule_form(conn, forms)
    if compiled is None:
        return 0, set()
    t = compiled.main
    keys = {(s.machine, s.tag) for s in samples}
    q = sa.select(t).where(t.c.deleted_at.is_(None), t.c.active.is_(True), t.c.machine.in_(sorted({k[0] for k in keys})),
                           t.c.tag.in_(sorted({k[1] for k in keys}))).order_by(t.c.id)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()        # two consumers flushing the same machine step each rule once
    rules = [Rule(dict(r)) for r in conn.execute(q).mappings() if (int(r["machine"]), str(r["tag"])) in keys]
    if not rules:
        return 0, set()
    by_key: dict[tuple[int, str], list[Rule]] = defaultdict(list)
    for rule in rules:
        by_key[(rule.machine, rule.tag)].append(rule)
    for s in sorted(samples, key=lambda s: s.at):
        for rule in by_key.get((s.machine, s.tag), ()):
            rule.add(s.at, s.value)
    changed = [r for r in rules if r.dirty]
    if changed:       # the figures only: the record's version stays, an engineer editing the rule is not refused
        stmt = t.update().where(t.c.id == sa.bindparam("b_id")).values(
            **{k: sa.bindparam(f"v_{k}") for k in changed[0].figures()})
        conn.execute(stmt, [{"b_id": r.id, **{f"v_{k}": v for k, v in r.figures().items()}} for r in changed])
    moved = [r for r in rules if r.events]
    return _alarms(conn, forms, ctx, moved, machine_names), {r.machine for r in moved}


def _alarms(conn: Connection, forms: Any, ctx: Ctx, rules: list[Rule], machine_names: dict[int, str]) -> int:
    if not rules:
        return 0
    compiled = F.require(conn, forms, F.ALARM)
    t = compiled.main
    has_rule = compiled.definition.field("condition_rule") is not None
    open_: dict[int, int] = {}
    if has_rule:
        q = sa.select(t.c.id, t.c.condition_rule).where(t.c.condition_rule.in_([r.id for r in rules]), t.c.kind == "drift",
                                                         t.c.cleared_at.is_(None), t.c.deleted_at.is_(None))
        open_ = {int(rid): int(aid) for aid, rid in conn.execute(q)}
    raised: list[tuple[dict[str, Any], Rule, dict[str, Any]]] = []
    fresh: dict[int, dict[str, Any]] = {}          # raised in this flush (cleared in it too: a short episode)
    for rule in rules:
        for ev in rule.events:
            if ev["kind"] == "clear":
                aid = open_.pop(rule.id, None)
                if rule.id in fresh:
                    fresh.pop(rule.id)["cleared_at"] = ev["at"] or ctx.now
                elif aid is not None:
                    conn.execute(t.update().where(t.c.id == aid).values(cleared_at=ev["at"] or ctx.now, updated_at=ctx.now,
                                                                         row_version=t.c.row_version + 1))
                continue
            if rule.id in open_:
                continue
            row = {"machine": rule.machine, "tag": rule.tag, "kind": "drift", "value": Decimal(repr(ev["value"])).quantize(Q6),
                   "limit_value": Decimal(repr(ev["limit"])).quantize(Q6), "raised_at": ev["at"], "cleared_at": None,
                   "status": "open"}
            if has_rule:
                row.update(condition_rule=rule.id, direction=ev["direction"])
            raised.append((row, rule, ev))
            open_[rule.id] = -1
            fresh[rule.id] = row
    ids = W.insert(conn, forms, ctx, compiled, [r for r, _, _ in raised])
    for rid, (row, rule, ev) in zip(ids, raised):
        _act(conn, forms, ctx, compiled, rid, rule, ev, machine_names.get(rule.machine, str(rule.machine)))
    return len(raised)


def message(rule: Rule, ev: dict[str, Any], machine: str) -> tuple[str, str]:
    """The alarm in words (zh, en)."""
    st, m = rule.st, METHOD_ZH.get(rule.method, rule.method)
    up = ev["direction"] == "up"
    what = "CUSUM C⁺" if rule.method == "cusum" and up else "CUSUM C⁻" if rule.method == "cusum" else "EWMA"
    guess = f"，估计新均值 {ev['new_mean']:.4g}" if ev.get("new_mean") is not None else ""
    guess_en = f", estimated new mean {ev['new_mean']:.4g}" if ev.get("new_mean") is not None else ""
    zh = (f"状态监测：{machine}「{rule.tag}」{'向上' if up else '向下'}漂移（{m}，第 {ev['point']} 点 {what} = {ev['value']:.4g}，"
          f"限值 {ev['limit']:.4g}；目标 {st['mu']:.4g}，σ {st['sigma']:.4g}{guess}）")
    en = (f"condition monitoring: {machine} {rule.tag} drifting {'up' if up else 'down'} ({m}, point {ev['point']} {what} = "
          f"{ev['value']:.4g}, limit {ev['limit']:.4g}; target {st['mu']:.4g}, sigma {st['sigma']:.4g}{guess_en})")
    return zh, en


def _act(conn: Connection, forms: Any, ctx: Ctx, compiled: CompiledForm, rid: int, rule: Rule, ev: dict[str, Any],
         machine: str) -> None:
    zh, en = message(rule, ev, machine)
    log.warning("%s / %s", zh, en)
    action = str(rule.row.get("on_alarm") or "notify")
    if action == "none":
        return
    number = A.repair_order(conn, forms, ctx, rid, rule.machine, zh, en) if action == "repair_order" else None
    if number:
        conn.execute(compiled.main.update().where(compiled.main.c.id == rid).values(maintenance_order=str(number)[:64]))
    A.notify(conn, ctx, "device_alarm", zh[:500], zh + (f"；已开维修工单 {number}" if number else ""), f"/f/{F.ALARM}/{rid}")
