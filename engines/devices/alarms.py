"""Thresholds on process values (设备报警): a value beyond its high (low) limit raises one ``device_alarm``
(and, per the mapping row, notifies the maintenance people and opens a repair order); the alarm stays open —
no new alarm per message — until the value comes back inside the limit by the row's deadband
(hysteresis), when ``cleared_at`` is set. People then acknowledge / close it."""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.devices import forms as F
from mom.engines.devices import writes as W
from mom.engines.devices.mapping import TagSpec
from mom.engines.forms.compile import CompiledForm
from mom.engines.records.context import Ctx
from mom.platform.db import tables as T

log = logging.getLogger("mom.devices")
KIND_ZH = {"high": "超上限", "low": "超下限"}
PEOPLE = ("equipment_manager", "maintenance_tech")


@dataclasses.dataclass
class Sample:
    machine: int
    spec: TagSpec
    at: dt.datetime
    value: Decimal


def check(conn: Connection, forms: Any, ctx: Ctx, compiled: CompiledForm, samples: list[Sample],
          machine_names: dict[int, str]) -> int:
    """Raise / clear alarms for ``samples`` (in message order). Returns the alarms raised."""
    samples = [s for s in samples if s.spec.high is not None or s.spec.low is not None]
    if not samples:
        return 0
    t = compiled.main
    q = sa.select(t.c.id, t.c.machine, t.c.tag, t.c.kind).where(
        t.c.machine.in_(sorted({s.machine for s in samples})), t.c.cleared_at.is_(None), t.c.deleted_at.is_(None),
        t.c.kind.in_(("high", "low")))
    open_: dict[tuple[int, str, str], dict[str, Any]] = {
        (int(r["machine"]), str(r["tag"]), str(r["kind"])): dict(r) for r in conn.execute(q).mappings()}
    raised: list[tuple[dict[str, Any], TagSpec]] = []
    clears: list[dict[str, Any]] = []
    for s in samples:
        sp, v = s.spec, s.value
        for kind, limit in (("high", sp.high), ("low", sp.low)):
            if limit is None:
                continue
            key = (s.machine, sp.tag, kind)
            beyond = v > limit if kind == "high" else v < limit
            back = v <= limit - sp.deadband if kind == "high" else v >= limit + sp.deadband
            cur = open_.get(key)
            if cur is not None:
                if back:
                    if "id" in cur:
                        clears.append({"b_id": cur["id"], "cleared_at": s.at})
                    else:
                        cur["cleared_at"] = s.at
                    del open_[key]
            elif beyond:
                row = {"machine": s.machine, "tag": sp.tag, "kind": kind, "value": v, "limit_value": limit,
                       "raised_at": s.at, "cleared_at": None, "status": "open"}
                open_[key] = row
                raised.append((row, sp))
    if clears:
        conn.execute(t.update().where(t.c.id == sa.bindparam("b_id")).values(
            cleared_at=sa.bindparam("cleared_at"), updated_at=ctx.now, row_version=t.c.row_version + 1), clears)
    ids = W.insert(conn, forms, ctx, compiled, [r for r, _ in raised])
    for rid, (row, sp) in zip(ids, raised):
        _act(conn, forms, ctx, compiled, rid, row, sp, machine_names.get(row["machine"], str(row["machine"])))
    return len(raised)


def _act(conn: Connection, forms: Any, ctx: Ctx, compiled: CompiledForm, rid: int, row: dict[str, Any], sp: TagSpec,
         machine: str) -> None:
    unit = f" {sp.unit}" if sp.unit else ""
    zh = f"设备报警：{machine}「{sp.tag}」{KIND_ZH[row['kind']]}（{row['value']}{unit}，限值 {row['limit_value']}{unit}）"
    log.warning("device alarm %s %s %s value %s limit %s", machine, sp.tag, row["kind"], row["value"], row["limit_value"])
    if sp.action == "none":
        return
    number = None
    if sp.action == "repair_order":
        en = f"device alarm: {machine} {sp.tag} {row['kind']} ({row['value']}, limit {row['limit_value']})"
        number = repair_order(conn, forms, ctx, rid, int(row["machine"]), zh, en)
        if number:
            t = compiled.main
            conn.execute(t.update().where(t.c.id == rid).values(maintenance_order=str(number)[:64]))
    body = zh + (f"；已开维修工单 {number}" if number else "")
    notify(conn, ctx, "device_alarm", zh, body, f"/f/{F.ALARM}/{rid}")


def repair_order(conn: Connection, forms: Any, ctx: Ctx, rid: int, machine_id: int, zh: str, en: str) -> str | None:
    """H1's repair order, when the maintenance pack's form is there (contract: open_repair_order, idempotent per
    source + ref: one order per alarm)."""
    try:
        present = forms.get_many(conn, ["maintenance_order"]).get("maintenance_order") is not None
    except Exception:       # a registry without get_many: look the usual way
        present = False
    if not present:
        log.warning("repair order wanted for alarm %s but the maintenance_order form is not installed", rid)
        return None
    from mom.engines.maintenance.repair import open_repair_order
    return open_repair_order(conn, forms, ctx, machine_id=machine_id, title_zh=zh[:200], title_en=en[:200],
                             source="device_alarm", ref=str(rid))


def notify(conn: Connection, ctx: Ctx, kind: str, title: str, body: str, link: str | None) -> list[int]:
    """An in-app notification to every active 设备主管 and 维修工."""
    users = sorted({u for role in PEOPLE for u in F.role_users(conn, role)})
    if users:
        conn.execute(T.notification.insert(), [{"user_id": u, "kind": kind[:32], "title": title[:500], "body": body[:2000],
                                                "link": link, "created_at": ctx.now} for u in users])
    return users
