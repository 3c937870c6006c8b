"""The SPC fields of an inspection plan's characteristics (issue 22):

- :func:`check_plan` — a saved plan's charted characteristics make sense: an attribute characteristic is charted
  with p, np, c or u, a numeric one with X̄-R, X̄-S, I-MR, EWMA or CUSUM; a measured chart's baseline has both
  its mean and its σ; a p/np baseline is a fraction (0–1). Refused in words naming the row and the field,
  the whole save undone (the record hook runs in the save's transaction).
- :func:`set_baseline` — 「以当前数据为基准」: the chart the caller sees (same dates and window) becomes the
  characteristic's phase II baseline (``baseline_mean`` and, for measured charts, ``baseline_sigma``), written
  through the record service with the caller's own rights on the plan (who may edit the plan may do it; the
  plan's history shows the change). Needs at least ``MIN_SUBGROUPS`` subgroups not excluded (Montgomery §6.2.1).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.quality import spc_kinds, spc_series, spc_views
from mom.engines.quality.spc_series import ATTRIBUTES, MIN_SUBGROUPS, PLAN, TIME_WEIGHTED, VARIABLES
from mom.engines.records import access as A
from mom.engines.records import service as S
from mom.engines.records.context import Ctx
from mom.platform.errors import Conflict, InvalidInput, Problem

KIND_CHARTS_ZH = {"attribute": "不合格品率图 p、不合格品数图 np、缺陷数图 c 或单位缺陷数图 u",
                  "numeric": "均值-极差、均值-标准差、单值-移动极差、EWMA 或 CUSUM 图"}
KIND_CHARTS_EN = {"attribute": "a p, np, c or u chart", "numeric": "an X̄-R, X̄-S, I-MR, EWMA or CUSUM chart"}


def _row_problem(row: dict[str, Any], at: str) -> Problem | None:
    name = str(row.get("name") or row.get("seq_no") or "")
    kind = "attribute" if row.get("kind") == "attribute" else "numeric"
    chart = row.get("chart")
    fits = chart in ATTRIBUTES if kind == "attribute" else chart in VARIABLES + TIME_WEIGHTED or chart is None
    if not fits:
        kz = "计数" if kind == "attribute" else "计量"
        return Problem(f"{at}/chart", f"{kz}项目「{name}」进控制图要用{KIND_CHARTS_ZH[kind]}：请在「控制图」里改选",
                       f"{kind} characteristic “{name}” is charted with {KIND_CHARTS_EN[kind]}: pick one under Chart")
    mean, sigma = row.get("baseline_mean"), row.get("baseline_sigma")
    if chart in ("p", "np") and mean is not None and not 0 <= float(mean) <= 1:
        return Problem(f"{at}/baseline_mean", f"「{name}」的基准均值是不合格品率，须在 0 到 1 之间（如 0.05 表示 5%）",
                       f"the baseline of “{name}” is a fraction nonconforming: between 0 and 1 (0.05 for 5 %)")
    if chart not in ATTRIBUTES and (mean is None) != (not sigma):
        return Problem(f"{at}/{'baseline_sigma' if mean is not None else 'baseline_mean'}",
                       f"「{name}」的基准均值和基准标准差（大于 0）要一起填，或都不填（用当前数据估计控制限）",
                       f"give both the baseline mean and a baseline sigma above 0 for “{name}”, or neither (limits estimated from the data)")
    return None


def check_plan(conn: Connection, compiled: Any, record_ids: Sequence[int], *, prefix: str = "") -> None:
    """Refuse (422, nothing saved) a plan whose charted characteristics do not fit their chart (module docstring)."""
    if "characteristics" not in compiled.children:
        return
    kids = S.load_children(conn, compiled, [int(i) for i in record_ids], ["characteristics"])
    problems = []
    for n, rid in enumerate(record_ids):
        at = f"/{n}" if len(record_ids) > 1 else prefix
        for i, row in enumerate(kids[int(rid)]["characteristics"]):
            if row.get("spc"):
                got = _row_problem(row, f"{at}/characteristics/{i}")
                if got is not None:
                    problems.append(got)
    if problems:
        raise InvalidInput(problems[0].zh, problems[0].en, problems=problems)


def set_baseline(conn: Connection, forms: Any, ctx: Ctx, plan_id: int, seq: int, *, date_from: dt.datetime | None = None,
                 date_to: dt.datetime | None = None, limit: int = spc_series.DEFAULT_LIMIT) -> dict[str, Any]:
    """Write the chart's centre (and σ) as the characteristic's baseline (module docstring); the values written.
    A plan the caller may not edit is refused (403 in words) before anything is charted."""
    A.record_row(conn, spc_views.form(conn, forms, PLAN), ctx.actor, plan_id, "update")
    ans = spc_views.chart(conn, forms, ctx, plan_id, seq, date_from=date_from, date_to=date_to, limit=limit)
    res = ans["spc"]
    if res is None:
        msg = ans["message"] or {"zh-CN": "还没有控制图", "en": "there is no chart yet"}
        raise InvalidInput(msg["zh-CN"], msg["en"], problems=[Problem("/char_seq", msg["zh-CN"], msg["en"])])
    if res.get("phase") == "II":
        raise Conflict("这个检验项目已经用阶段 II 固定控制限：要换基准，请先在检验方案里清空「基准均值」「基准标准差」，再以当前数据为基准",
                       "this characteristic already has phase II fixed limits: clear its baseline mean and sigma on the plan first")
    lots = ({ans["subgroups"][gi]["inspection_lot"] for gi in res["positions"]}
            - {e.get("inspection_lot") for e in res.get("excluded", [])})
    if len(lots) < MIN_SUBGROUPS:
        zh = f"基准至少要由 {MIN_SUBGROUPS} 个未排除的子组（检验单）算出，现在只有 {len(lots)} 个：请等更多检验单判定后再设"
        en = f"a baseline needs at least {MIN_SUBGROUPS} subgroups (inspection lots) not excluded; there are {len(lots)}"
        raise InvalidInput(zh, en, problems=[Problem("/char_seq", zh, en)])
    ch = spc_series.characteristic(conn, forms.get(conn, PLAN), plan_id, seq)
    values = spc_kinds.baseline_of(ch, res)
    doc = S.get_record(conn=conn, registry=forms, ctx=ctx, form=PLAN, record_id=plan_id)
    rows = []
    for r in doc.get("characteristics") or []:
        row = {k: v for k, v in r.items() if not k.startswith("_")}
        if row.get("seq_no") == seq:
            row.update(values)
        rows.append(row)
    S.update_record(conn=conn, registry=forms, ctx=ctx, form=PLAN, record_id=plan_id,
                    patch={"characteristics": rows, "row_version": doc["row_version"]})
    return {"plan": plan_id, "char_seq": seq, "chart": ch.chart, "subgroups": len(lots), **values}
