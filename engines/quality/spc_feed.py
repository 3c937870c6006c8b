"""Inspections feed their characteristics' control charts (issue 22).

When an inspection lot is judged, each characteristic of its plan marked 进控制图 (``spc``) gets the lot's
readings (or pass/fail marks and defect counts) as its newest subgroup — nothing is copied: the chart
reads the lot's ``results``. The chart (X̄-R, X̄-S, I-MR, EWMA, CUSUM, p, np, c or u, as the characteristic
says) is evaluated over a window of the newest ``DEFAULT_LIMIT`` (100) subgroups ending with this lot, with
the same limits the SPC page shows for that window: phase I trial limits from the window without the
excluded subgroups, or phase II fixed limits when the characteristic has a baseline. Phase I raises no
alarm before ``MIN_SUBGROUPS`` (20) subgroups: limits from fewer are not trustworthy (Montgomery §6.2.1).

A rule violated by the newest subgroup (any rule of the chosen set on the X̄/I/p/np/c/u chart, a point
beyond the limits on the R/S/MR chart, an EWMA point beyond its limits, a CUSUM sum beyond H) raises one
alarm (``spc_alarms.raise_alarm``). Cost per judge: per charted characteristic one indexed statement for
the window and one for its exclusions.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.quality import spc_alarms, spc_series
from mom.engines.quality.spc_series import EXCLUSION, LOT, PLAN, Characteristic
from mom.engines.records.context import Ctx
from mom.engines.reports.spc import SpcError


def _form(conn: Connection, forms: Any, name: str) -> Any:
    try:
        compiled = forms.get(conn, name)
    except Exception:       # noqa: BLE001 — a form the plant has not installed: that part is skipped
        return None
    return compiled if spc_series.is_quality(compiled) else None


def check(conn: Connection, forms: Any, ctx: Ctx, ch: Characteristic, lot_id: int, upto: tuple[Any, int], *,
          lot_qty: Any = None) -> dict[str, Any] | None:
    """Evaluate ``ch``'s chart with lot ``lot_id`` as its newest subgroup; the alarm raised, or None."""
    lot_form, x_form = forms.get(conn, LOT), _form(conn, forms, EXCLUSION)
    groups, _ = spc_series.subgroups(conn, lot_form, ch, limit=spc_series.DEFAULT_LIMIT, upto=upto)
    if not groups or groups[-1].lot_id != lot_id:
        return None
    if ch.baseline is None and len(groups) < spc_series.MIN_SUBGROUPS:
        return None
    excluded = spc_series.exclusions(conn, x_form, ch, [g.lot_id for g in groups]) if x_form is not None else {}
    if lot_id in excluded:
        return None
    try:
        res = spc_series.compute(ch, groups, excluded, with_capability=False)
    except SpcError:        # not enough usable readings yet: no chart, no alarm
        return None
    positions = res["positions"].get(len(groups) - 1)
    if not positions:
        return None
    violations = spc_series.newest_violations(res, positions)
    if not violations:
        return None
    return spc_alarms.raise_alarm(conn, forms, ctx, ch, groups[-1], violations, lot_qty=lot_qty)


def on_judged(conn: Connection, forms: Any, ctx: Ctx, lot_id: int, lot: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The alarms raised by judging inspection lot ``lot_id`` (``lot``: its values after the judge)."""
    plan_form = _form(conn, forms, PLAN)
    if plan_form is None or not lot.get("plan"):
        return []
    chars = spc_series.characteristics(conn, plan_form, [int(lot["plan"])])
    if not chars:
        return []
    lot_form = forms.get(conn, LOT)
    q = spc_series.memo(lot_form, ("spc_when",), lambda: sa.select(spc_series.when_of(lot_form.main))
                        .where(lot_form.main.c.id == sa.bindparam("id")))
    when = conn.execute(q, {"id": lot_id}).scalar()
    out = []
    for ch in chars:
        got = check(conn, forms, ctx, ch, lot_id, (when, lot_id), lot_qty=lot.get("lot_qty"))
        if got is not None:
            out.append(got)
    return out
