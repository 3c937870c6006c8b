"""What the IPQC and OQC triggers share: the quality pack's forms (by name and owning pack), the plan
that applies, the inspection lots of a source, and opening one lot as the engine.

A trigger acts only when the ``quality`` pack installed ``inspection_plan`` and ``inspection_lot``
(:func:`installed`), so a plant's own form of the same name is left alone and a plant without the pack
pays one small query per write. Lots are opened through :func:`mom.engines.quality.inspection.open_lot`
(plan → GB/T 2828.1 sampling at the switching state's severity, or the plan's fixed sample size).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.quality import inspection as I
from mom.engines.records import service as S
from mom.engines.records.batch import update_many
from mom.engines.records.context import Ctx

PACK, PLAN, LOT = "quality", "inspection_plan", "inspection_lot"
OPEN = ("pending", "inspecting")
TYPE_ZH = {"iqc": "来料检验", "ipqc_first": "首检", "ipqc_patrol": "巡检", "ipqc_last": "末检", "oqc": "出货检验"}
STATUS_ZH = {"pending": "待检", "inspecting": "检验中", "judged": "已判定", "cancelled": "已取消"}
RESULT_ZH = {"accepted": "合格", "rejected": "不合格"}
ZERO = Decimal(0)


def installed(conn: Connection, forms: Any) -> tuple[CompiledForm, CompiledForm] | None:
    """The quality pack's ``inspection_plan`` and ``inspection_lot`` when that pack installed both, else None.
    One statement a call (every job report asks): both current versions in one read; which pack owns them is
    read once per compiled version and kept on it."""
    get_many = getattr(forms, "get_many", None)
    if get_many is not None:
        got = get_many(conn, [PLAN, LOT])
        plan, lot = got.get(PLAN), got.get(LOT)
        if plan is None or lot is None:
            return None
    else:
        plan, lot = forms.get(conn, PLAN), forms.get(conn, LOT)
    needs = {PLAN: ("inspection_type", "item", "operation", "active", "fixed_sample_size"),
             LOT: ("inspection_type", "plan", "operation_task", "stock_shipment", "sample_size", "status", "result")}
    if not all(I.quality_pack_owns(conn, c, needs[c.name]) for c in (plan, lot)):
        return None
    return plan, lot


def dec(v: Any) -> Decimal:
    return ZERO if v is None else Decimal(str(v))


def qty_text(v: Any) -> str:
    d = dec(v).normalize()
    return format(d, "f") if d == d.to_integral() or abs(d.as_tuple().exponent) < 8 else str(d)   # type: ignore[operator]


def find_plans(conn: Connection, plan_form: CompiledForm, kinds: tuple[str, ...], item: Any, *,
               operation: str | None = None) -> dict[str, dict[str, Any]]:
    """Per kind of ``kinds``, the most specific active plan for ``item`` (one statement): for IPQC, one
    naming ``operation`` beats one with none (any operation); among equals the newest."""
    if item is None:
        return {}
    t = plan_form.main
    rows = [dict(r) for r in conn.execute(sa.select(t).where(
        t.c.deleted_at.is_(None), t.c.inspection_type.in_(kinds), t.c.item == int(item),
        sa.or_(t.c.active.is_(True), t.c.active.is_(None))).order_by(t.c.id.desc())).mappings()]
    name = (operation or "").strip()
    out: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        mine = [r for r in rows if r["inspection_type"] == kind]
        if kind.startswith("ipqc"):
            mine = [r for r in mine if name and (r.get("operation") or "").strip() == name] or \
                   [r for r in mine if not (r.get("operation") or "").strip()]
        if mine:
            out[kind] = mine[0]
    return out


def find_plan(conn: Connection, plan_form: CompiledForm, kind: str, item: Any, *, operation: str | None = None
              ) -> dict[str, Any] | None:
    """The most specific active plan of ``kind`` for ``item`` (:func:`find_plans`)."""
    return find_plans(conn, plan_form, (kind,), item, operation=operation).get(kind)


def lots_of(conn: Connection, lot_form: CompiledForm, source: str, source_id: int, kind: str | None = None,
            *, lock: bool = False) -> list[dict[str, Any]]:
    """The inspection lots opened for ``source`` (``operation_task`` / ``stock_shipment``) ``source_id``, oldest first."""
    t = lot_form.main
    q = sa.select(t).where(t.c.deleted_at.is_(None), t.c[source] == int(source_id)).order_by(t.c.id)
    if kind is not None:
        q = q.where(t.c.inspection_type == kind)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    return [dict(r) for r in conn.execute(q).mappings()]


def open_lot(conn: Connection, forms: Any, ctx: Ctx, *, plan: Mapping[str, Any], item: Any, lot: Any, qty: Any,
             sources: Mapping[str, Any], note: str | None = None) -> dict[str, Any]:
    """Open one pending inspection lot of ``plan`` for ``qty`` of ``item`` (and ``lot``) with its ``sources``
    (``operation_task``, ``production_order``, ``stock_shipment``) through :func:`inspection.open_lot`
    (GB/T 2828.1 sampling at the switching state's severity, or the plan's fixed sample size); the stored lot."""
    got = I.open_lot(conn, forms, ctx, plan=plan, item=int(item), lot=lot, qty=qty, supplier=None, sources=dict(sources),
                     note=note)
    return _row(conn, forms, int(got["id"]))


def _row(conn: Connection, forms: Any, lot_id: int) -> dict[str, Any]:
    t = forms.get(conn, LOT).main
    return dict(conn.execute(sa.select(t).where(t.c.id == lot_id)).mappings().one())


def set_fields(conn: Connection, forms: Any, ctx: Ctx, lot_id: int, patch: dict[str, Any],
               transition: str | None = None) -> None:
    """Change an inspection lot as the engine (``transition``: cancel, …) through the record service."""
    with I.engine_writes(conn):
        S.update_record(conn=conn, registry=forms, ctx=I.acting(ctx), form=LOT, record_id=lot_id, patch=patch,
                        transition=transition)


def cancel(conn: Connection, forms: Any, ctx: Ctx, lot: Mapping[str, Any], why: str) -> None:
    """Cancel an open lot (取消) as the engine, saying why in its note."""
    note = f"{lot.get('note') or ''}\n{why}".strip()[:500]
    set_fields(conn, forms, ctx, int(lot["id"]), {"status": "cancelled", "note": note}, transition="cancel")


def aware(at: dt.datetime) -> dt.datetime:
    """``at`` with a time zone (a naive time read back from SQLite is UTC)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.timezone.utc)


def opened_now(lot: Mapping[str, Any], ctx: Ctx) -> bool:
    """Was ``lot`` opened by the write being made now (it goes if that write is refused)?"""
    return lot.get("created_at") is not None and aware(lot["created_at"]) == aware(ctx.now)


def describe(lot: Mapping[str, Any]) -> str:
    """『QI-20261203-0001（待检）』 / with its result once judged."""
    status = lot.get("status")
    state = RESULT_ZH.get(str(lot.get("result")), "") if status == "judged" else STATUS_ZH.get(str(status), str(status))
    return f"{lot.get('code')}（{state}）"


# ---------------------------------------------------------------- a rejected IPQC / OQC lot's NCR

NCR = "nonconformance"


def open_ncr(conn: Connection, forms: Any, ctx: Ctx, lot: Mapping[str, Any], *, title: str, qty: Any,
             location: Any = None, extra: Mapping[str, Any] | None = None) -> str | None:
    """The NCR of rejected ``lot`` (once: an NCR already naming the lot is kept), with its production or
    shipment context, written as the engine; its number is set on the lot. None when the pack's NCR form
    is not installed."""
    ncr_form = forms.get_many(conn, [NCR]).get(NCR) if hasattr(forms, "get_many") else forms.get(conn, NCR)
    if ncr_form is None or not I.quality_pack_owns(conn, ncr_form, ()):
        return None
    if lot.get("ncr") or any(ncr_form.definition.field(k) is None for k in ("inspection_lot", "item", "qty", "title")):
        return lot.get("ncr")
    t = ncr_form.main
    had = conn.execute(sa.select(t.c.code).where(t.c.deleted_at.is_(None), t.c.inspection_lot == int(lot["id"]))).scalar()
    if had is None:
        results = S.load_children(conn, forms.get(conn, LOT), [int(lot["id"])], ["results"])[int(lot["id"])]["results"]
        worst = next((r.get("defect_code") for r in results if r.get("ok") is False and r.get("defect_code")), None)
        counts = "、".join(f"{zh} {lot.get(f'defects_{k}')}/Re {lot.get(f're_{k}')}" for k, zh in
                          (("critical", "致命"), ("major", "严重"), ("minor", "轻微")) if lot.get(f"defects_{k}") is not None)
        doc = {"title": title[:200], "inspection_lot": int(lot["id"]), "item": lot.get("item"), "lot": lot.get("lot"),
               "location": location, "qty": dec(qty), "defect_code": worst,
               "description": f"检验单 {lot.get('code')}：样本 {lot.get('sample_size')} 件，不合格数 {counts}，判定不合格。"[:4000],
               **{k: v for k, v in (extra or {}).items() if ncr_form.definition.field(k) is not None}}
        with I.engine_writes(conn):
            had = S.create_records(conn=conn, registry=forms, ctx=I.acting(ctx), form=NCR, docs=[doc])[0].get("code")
    with I.engine_writes(conn):
        update_many(conn=conn, registry=forms, ctx=I.acting(ctx), form=LOT, patches=[(int(lot["id"]), {"ncr": had}, None)])
    return str(had) if had is not None else None
