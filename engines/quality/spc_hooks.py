"""Record hooks of the SPC feed (registered after the quality pack's own hooks, so the judge has set the
result when they run):

- an inspection lot moved to 已判定 (judged) feeds its plan's charted characteristics (``spc_feed``);
- an inspection plan saved with charted characteristics is checked: the chart fits the characteristic's kind,
  a baseline is complete (``spc_plan.check_plan``; refused in words, nothing saved);
- an SPC exclusion (``spc_exclusion``) records who excluded the subgroup and when, needs a reason, and
  must name an inspection lot of that plan with readings of that characteristic; it is not edited
  (delete it and exclude again), so the record says what the chart left out and why.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.quality import spc_feed, spc_plan, spc_series
from mom.engines.quality.spc_series import EXCLUSION, LOT, PLAN
from mom.engines.records.context import Ctx
from mom.engines.records.hooks import RecordHooks
from mom.platform.errors import Conflict, InvalidInput, Problem
from mom.platform.hookspecs import hookimpl


def _refuse(path: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(zh, en, problems=[Problem(path, zh, en)])


def check_exclusion(conn: Connection, forms: Any, row: Mapping[str, Any], path: str = "") -> None:
    """An exclusion names a reason, and an inspection lot of the plan with readings of the characteristic."""
    if not str(row.get("reason") or "").strip():
        raise _refuse(f"{path}/reason", "排除子组须写明原因（如：换刀、量具失准）",
                      "excluding a subgroup needs a reason (e.g. tool change, gauge out of calibration)")
    plan, seq, lot_id = row.get("inspection_plan"), row.get("char_seq"), row.get("inspection_lot")
    if not plan or seq is None or not lot_id:
        raise _refuse(path or "/", "请选择检验方案、检验项目和检验单", "choose the inspection plan, the characteristic and the inspection lot")
    lot_form = forms.get(conn, LOT)
    L, R = lot_form.main, lot_form.children["results"]
    got = conn.execute(sa.select(L.c.plan, L.c.code, L.c.status).where(L.c.id == lot_id, L.c.deleted_at.is_(None))).first()
    if got is None or got.plan != plan:
        raise _refuse(f"{path}/inspection_lot", "这张检验单不属于所选的检验方案：请从该方案的控制图上选择子组",
                      "this inspection lot is not of the chosen plan: pick the subgroup on that plan's chart")
    has = conn.execute(sa.select(R.c.id).where(R.c.parent_id == lot_id, R.c.char_seq == seq).limit(1)).first()
    if has is None or got.status != "judged":
        raise _refuse(f"{path}/inspection_lot", f"检验单 {got.code} 没有已判定的该项目读数，不在控制图上，无需排除",
                      f"inspection lot {got.code} has no judged readings of this characteristic: it is not on the chart")
    X = forms.get(conn, EXCLUSION).main
    before = conn.execute(sa.select(X.c.reason).where(X.c.inspection_plan == plan, X.c.char_seq == seq, X.c.inspection_lot == lot_id,
                                                      X.c.deleted_at.is_(None)).limit(1)).scalar()
    if before is not None:
        raise Conflict(f"检验单 {got.code} 的这个检验项目已经排除过（原因：{before}）：要改原因，请先撤销排除再重新排除",
                       f"inspection lot {got.code} is already excluded for this characteristic (reason: {before}): take the "
                       "exclusion back first to give another reason")


class SpcHooks(RecordHooks):
    def __init__(self, forms: Any) -> None:
        self.forms = forms

    def before_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[dict[str, Any]]) -> None:
        if compiled.name != EXCLUSION or not spc_series.is_quality(compiled):
            return
        for i, row in enumerate(rows):
            check_exclusion(conn, self.forms, row, f"/{i}" if len(rows) > 1 else "")
            row["reason"] = str(row["reason"]).strip()
            row["excluded_by"], row["excluded_at"] = ctx.actor.id, ctx.now

    def after_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[Mapping[str, Any]]) -> None:
        if compiled.name == PLAN and spc_series.is_quality(compiled):
            spc_plan.check_plan(conn, compiled, [int(r["id"]) for r in rows])

    def before_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                      new: dict[str, Any], patched: set[str], transition: str | None) -> None:
        if compiled.name == EXCLUSION and spc_series.is_quality(compiled) and any(new.get(k) != old.get(k) for k in patched):
            raise Conflict("排除记录不能修改：如需更正，请删除后重新排除并写明原因",
                           "an exclusion is not edited: delete it and exclude again with the reason")

    def after_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                     new: Mapping[str, Any], changed: set[str]) -> None:
        if compiled.name == PLAN and "characteristics" in changed and spc_series.is_quality(compiled):
            spc_plan.check_plan(conn, compiled, [record_id])
        if (compiled.name == LOT and "status" in changed and new.get("status") == "judged"
                and old.get("status") != "judged" and spc_series.is_quality(compiled)):
            spc_feed.on_judged(conn, self.forms, ctx, record_id, new)


@hookimpl(trylast=True)
def mom_record_hooks(forms: Any, flows: Any) -> RecordHooks:
    """The SPC feed's hooks: judged inspection lots feed their charts; exclusions keep who, when and why.
    ``trylast``: after the quality pack's own hooks (the judge has stored its result and time)."""
    return SpcHooks(forms)
