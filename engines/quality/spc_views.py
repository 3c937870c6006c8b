"""What the SPC page reads and does (``/api/quality/spc/…``), within the caller's record permissions:

- the charted characteristics of the plans she may read, with their subgroup counts and open alarms;
- one characteristic's chart (X̄-R, X̄-S, I-MR, EWMA, CUSUM, p, np, c or u): the report engine's answer (points, limits, rule marks, capability,
  histogram, normality, notes, excluded points) plus each subgroup's inspection lot and date, and the
  alarms raised on those lots;
- excluding a subgroup with a reason (an ``spc_exclusion`` record) and taking the exclusion back;
- acknowledging an alarm (who and when, with an optional note).

Reading inspection lots needs the right to read them (row scope applied): a user who cannot read any
gets 403, one who reads some sees a chart of those.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.inventory import vendors
from mom.engines.quality import spc_alarms, spc_kinds, spc_series
from mom.engines.quality.spc_series import ALARM, EXCLUSION, LOT, PLAN, Characteristic, Subgroup
from mom.engines.records import access as A
from mom.engines.records import service as S
from mom.engines.records.context import Ctx
from mom.engines.records.lookup import user_names
from mom.engines.reports.spc import SpcError
from mom.platform.errors import AccessDenied, Conflict, NotFound

MAX_CHARACTERISTICS = 1000
MAX_ALARMS = 200


def form(conn: Connection, forms: Any, name: str) -> Any:
    """The quality pack's form ``name``, or 404 saying the pack is missing (not a form key)."""
    try:
        return forms.get(conn, name)
    except NotFound:
        raise NotFound("还没有安装「质量管理」包（检验方案、检验单、控制图）：请管理员安装后再用控制图",
                       "the quality pack (inspection plans, lots, charts) is not installed: ask an administrator to install it",
                       detail={"form": name}) from None


def _readable(conn: Connection, forms: Any, ctx: Ctx, name: str, *, need: bool, field: str | None = None) -> tuple[Any, Any]:
    """(compiled, row scope) of ``name`` for the caller, or (None, None) when she may not read it
    (``need``: refuse in words instead)."""
    compiled = form(conn, forms, name)
    access = A.form_access(compiled, ctx.actor)
    ok = access.can("read") and ctx.actor.reads_form(name) and (field is None or access.visible(field))
    if not ok:
        if need:
            raise A.refusal(name, access.label, "read")
        return None, None
    return compiled, access.scope("read")


def _items(conn: Connection, forms: Any, ctx: Ctx, ids: set[int]) -> dict[int, dict[str, Any]]:
    item, scope = _readable(conn, forms, ctx, "item", need=False)
    if item is None or not ids:
        return {}
    t = item.main
    cols = [t.c.id] + [t.c[k] for k in ("code", "name", "unit") if k in t.c]
    q = sa.select(*cols).where(t.c.id.in_(sorted(ids)))
    return {r["id"]: dict(r) for r in conn.execute(q.where(scope) if scope is not None else q).mappings()}


def _item_text(items: Mapping[int, Mapping[str, Any]], item_id: Any) -> str | None:
    it = items.get(item_id) if item_id is not None else None
    return " ".join(str(it[k]) for k in ("code", "name") if it.get(k)) if it else None


def characteristics(conn: Connection, forms: Any, ctx: Ctx, *, limit: int = 500) -> dict[str, Any]:
    """Charted characteristics of the plans the caller may read: plan, item, limits, chart, subgroups
    (judged lots she may read with readings of it) and open (unacknowledged) alarms."""
    plan_form, plan_scope = _readable(conn, forms, ctx, PLAN, need=True)
    lot_form, lot_scope = _readable(conn, forms, ctx, LOT, need=True, field="results")   # no lots, no charts: 403
    chars = spc_series.characteristics(conn, plan_form, scope=plan_scope, limit=min(limit, MAX_CHARACTERISTICS) + 1)
    more = len(chars) > limit
    chars = chars[:limit]
    plans = sorted({c.plan_id for c in chars})
    counts: dict[tuple[int, int], int] = {}
    if plans:
        L, R = lot_form.main, lot_form.children["results"]
        q = (sa.select(L.c.plan, R.c.char_seq, sa.func.count(sa.distinct(L.c.id))).join(R, R.c.parent_id == L.c.id)
             .where(L.c.plan.in_(plans), L.c.status == "judged", L.c.deleted_at.is_(None)).group_by(L.c.plan, R.c.char_seq))
        counts = {(p, s): int(n) for p, s, n in conn.execute(q.where(lot_scope) if lot_scope is not None else q)}
    alarm_form, alarm_scope = _readable(conn, forms, ctx, ALARM, need=False)
    alarms = _open_alarms(conn, alarm_form, alarm_scope, plans) if alarm_form is not None and plans else {}
    items = _items(conn, forms, ctx, {c.item_id for c in chars if c.item_id is not None})
    out = [{**c.as_dict(), "item_text": _item_text(items, c.item_id), "subgroups": counts.get((c.plan_id, c.seq), 0),
            "open_alarms": (alarms.get((c.plan_id, c.seq), 0) + alarms.get((c.plan_id, c.name[:100]), 0))
            if alarm_form is not None else None} for c in chars]
    return {"items": out, "truncated": more}


def _open_alarms(conn: Connection, alarm_form: Any, scope: Any, plans: list[int]) -> dict[tuple[int, Any], int]:
    """Unacknowledged alarms per (plan, 序号) — and per (plan, name) for those raised before ``char_seq`` existed."""
    T = alarm_form.main
    seq = T.c.char_seq if "char_seq" in T.c else sa.null()
    q = (sa.select(T.c.inspection_plan, seq, T.c.characteristic, sa.func.count()).where(
        T.c.inspection_plan.in_(plans), T.c.acknowledged_at.is_(None), T.c.deleted_at.is_(None))
        .group_by(T.c.inspection_plan, seq, T.c.characteristic))
    out: dict[tuple[int, Any], int] = {}
    for p, s, c, n in conn.execute(q.where(scope) if scope is not None else q):
        key = (p, int(s)) if s is not None else (p, c)
        out[key] = out.get(key, 0) + int(n)
    return out


def _alarms(conn: Connection, forms: Any, ctx: Ctx, ch: Characteristic, lot_ids: Sequence[int]) -> list[dict[str, Any]] | None:
    alarm_form, scope = _readable(conn, forms, ctx, ALARM, need=False)
    if alarm_form is None:
        return None
    if not lot_ids:
        return []
    T = alarm_form.main
    q = sa.select(T).where(T.c.inspection_plan == ch.plan_id, spc_alarms.of_characteristic(T, ch), T.c.deleted_at.is_(None))
    if len(lot_ids) <= 1000:
        q = q.where(T.c.inspection_lot.in_(list(lot_ids)))
    if scope is not None:
        q = q.where(scope)
    rows = [dict(r) for r in conn.execute(q.order_by(T.c.raised_at.desc(), T.c.id.desc()).limit(MAX_ALARMS)).mappings()]
    shown = set(lot_ids)
    names = user_names(conn, {r["acknowledged_by"] for r in rows if r.get("acknowledged_by")})
    return [{"id": r["id"], "char_seq": r.get("char_seq") or ch.seq, "rule": r["rule"], "subgroup": r["subgroup"], "inspection_lot": r["inspection_lot"],
             "value": float(r["value"]) if r["value"] is not None else None, "raised_at": r["raised_at"],
             "acknowledged_by": r["acknowledged_by"], "acknowledged_by_name": names.get(r["acknowledged_by"]),
             "acknowledged_at": r["acknowledged_at"], "note": r.get("note"), "ncr": r.get("ncr")}
            for r in rows if r["inspection_lot"] in shown]


def _attribute(ch: Characteristic, g: Subgroup, out: dict[str, Any]) -> dict[str, Any]:
    """An attribute chart's subgroup: the lot's count (nonconforming samples, or defects) over the samples inspected."""
    if ch.attribute:
        count, size = spc_kinds.lot_count(ch, g)
        out.update(count=count, n=size or 0, mean=None, values=None)
    return out


def _subgroup(i: int, g: Subgroup, excluded: Mapping[int, Mapping[str, Any]], points: Sequence[int],
              vendor_names: Mapping[int, str]) -> dict[str, Any]:
    vals = [v for v in g.values if v is not None]
    x = excluded.get(g.lot_id)
    return {"index": i, "inspection_lot": g.lot_id, "code": g.code, "inspected_at": g.at, "lot": g.lot,
            "supplier": vendor_names.get(g.supplier) if g.supplier is not None else None, "n": len(vals), "values": g.values,
            "mean": sum(vals) / len(vals) if vals else None, "points": list(points),
            "excluded": {"id": x["id"], "reason": x["reason"]} if x else None}


def chart(conn: Connection, forms: Any, ctx: Ctx, plan_id: int, seq: int, *, date_from: dt.datetime | None = None,
          date_to: dt.datetime | None = None, k: Any = None, rules: Any = None,
          limit: int = spc_series.DEFAULT_LIMIT) -> dict[str, Any]:
    """The chart of characteristic ``seq`` of plan ``plan_id`` over the newest ``limit`` judged lots the
    caller may read (in [from, to)); ``spc`` is None with a message when fewer than 2 subgroups have readings."""
    plan_form, plan_scope = _readable(conn, forms, ctx, PLAN, need=True)
    lot_form, lot_scope = _readable(conn, forms, ctx, LOT, need=True, field="results")
    A.record_row(conn, plan_form, ctx.actor, plan_id, "read")   # a plan out of her reach: 403 in words, not "no such item"
    ch = spc_series.characteristic(conn, plan_form, plan_id, seq, scope=plan_scope)
    groups, more = spc_series.subgroups(conn, lot_form, ch, limit=limit, date_from=date_from, date_to=date_to, scope=lot_scope)
    x_form = form(conn, forms, EXCLUSION)
    excluded = spc_series.exclusions(conn, x_form, ch, [g.lot_id for g in groups])
    items = _items(conn, forms, ctx, {ch.item_id} if ch.item_id else set())
    head = {**ch.as_dict(), "item_text": _item_text(items, ch.item_id)}
    notes = []
    if more:
        notes.append({"kind": "window", "zh-CN": f"只显示最近 {limit} 个子组（检验单）；更早的请缩小日期范围或增大显示数量（上限 {spc_series.MAX_LIMIT:,}）",
                      "en": f"only the newest {limit} subgroups (inspection lots) are shown; narrow the dates or show more "
                            f"(at most {spc_series.MAX_LIMIT:,})"})
    res, message = None, None
    spc_series.check_options(ch.k if k in (None, "") else k, ch.rules if rules in (None, "") else rules)
    try:
        res = spc_series.compute(ch, groups, excluded, k=k, rules=rules) if len(groups) >= 2 else None
    except SpcError as exc:        # the data cannot make a chart yet (too few usable readings): said, not refused
        message = {"zh-CN": exc.zh, "en": exc.en}
    if res is None and message is None:
        message = {"zh-CN": f"还只有 {len(groups)} 个已判定的检验单有「{ch.name}」的读数：至少 2 个才能画控制图",
                   "en": f"only {len(groups)} judged inspection lot(s) have readings of “{ch.name}”: a chart needs at least 2"}
    if res is not None:
        res["notes"] = notes + res.get("notes", [])
    positions = res["positions"] if res is not None else {}
    vendor_names = vendors.names(conn, forms, {g.supplier for g in groups})
    return {"characteristic": head, "spc": res, "message": message, "truncated": more, "notes": notes,
            "subgroups": [_attribute(ch, g, _subgroup(i, g, excluded, positions.get(i, []), vendor_names))
                          for i, g in enumerate(groups)],
            "alarms": _alarms(conn, forms, ctx, ch, [g.lot_id for g in groups]),
            "alarm_rule": {"min_subgroups": spc_series.MIN_SUBGROUPS, "window": spc_series.DEFAULT_LIMIT},
            "may": {"set_baseline": may_update_plan(conn, plan_form, ctx, plan_id)}}


def may_update_plan(conn: Connection, plan_form: Any, ctx: Ctx, plan_id: int) -> bool:
    """Whether the caller may edit this plan's characteristics (「以当前数据为基准」 writes them with her rights)."""
    try:
        access, _ = A.record_row(conn, plan_form, ctx.actor, plan_id, "update")
    except (AccessDenied, NotFound):
        return False
    return ctx.actor.reads_form(PLAN) and "characteristics" not in access.read_only


def exclude(conn: Connection, forms: Any, ctx: Ctx, *, plan: int, char_seq: int, inspection_lot: int, reason: str) -> dict[str, Any]:
    """Leave a subgroup out of the limits, with the reason (the caller's right to create exclusions)."""
    form(conn, forms, EXCLUSION)
    return S.create_records(conn=conn, registry=forms, ctx=ctx, form=EXCLUSION, docs=[
        {"inspection_plan": plan, "char_seq": char_seq, "inspection_lot": inspection_lot, "reason": reason}])[0]


def unexclude(conn: Connection, forms: Any, ctx: Ctx, exclusion_id: int) -> dict[str, Any]:
    """Take an exclusion back (soft delete: the record of it stays restorable)."""
    form(conn, forms, EXCLUSION)
    return S.delete_record(conn=conn, registry=forms, ctx=ctx, form=EXCLUSION, record_id=exclusion_id)


def acknowledge(conn: Connection, forms: Any, ctx: Ctx, alarm_id: int, note: str | None = None) -> dict[str, Any]:
    """Mark an alarm seen by the caller, through the record service with her own rights (the quality pack lets
    people write only 确认人, 确认时间 and 处理说明 of an alarm); a second acknowledgement is refused in words."""
    compiled = form(conn, forms, ALARM)
    _, row = A.record_row(conn, compiled, ctx.actor, alarm_id, "update", lock=True)
    if row.get("acknowledged_at") is not None:
        who = user_names(conn, {row["acknowledged_by"]}).get(row["acknowledged_by"], "") if row.get("acknowledged_by") else ""
        raise Conflict(f"这条报警已由 {who or '他人'} 确认，无需再次确认", f"this alarm was acknowledged already{' by ' + who if who else ''}")
    patch = {"acknowledged_by": ctx.actor.id, "acknowledged_at": ctx.now, "row_version": row["row_version"]}
    if note:
        patch["note"] = note
    return S.update_record(conn=conn, registry=forms, ctx=ctx, form=ALARM, record_id=alarm_id, patch=patch)
