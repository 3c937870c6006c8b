"""Record hooks of the quality pack's NCR (``nonconformance``) and CAPA (``capa``) forms, on every write
path (API, import, form buttons, workflow actions):

- an NCR is 处置已批准 approved only by its approval flow ``nonconformance_review`` (a person's
  transition is refused, saying to submit it), and only with dispositions that do not exceed its qty;
- 执行处置 (approved → dispositioned) carries the dispositions out (:mod:`disposition`), all or nothing;
- an approved, dispositioned, closed or cancelled NCR is not edited (linking a CAPA aside), and only an
  open one is deleted;
- a CAPA goes to 效果验证 with its root cause and corrective action written, is closed only when the
  effectiveness check says 有效 effective, and a closed CAPA is not edited.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.inventory import balances as B
from mom.engines.inventory import documents as D
from mom.engines.quality import disposition as X
from mom.engines.quality import inspection as I
from mom.engines.quality import ncr_stock as R
from mom.engines.records import service as S
from mom.engines.records.batch import update_many
from mom.engines.records.context import Ctx
from mom.engines.records.hooks import RecordHooks
from mom.platform.errors import AccessDenied, Conflict, InvalidInput, Problem
from mom.platform.hookspecs import hookimpl

_NCR_STATUS_ZH = {"open": "待处置", "approved": "处置已批准", "dispositioned": "已处置", "closed": "已关闭", "cancelled": "已取消"}
#: what may still change on an NCR past 待处置 (the transitions' own fields aside)
_NCR_LATE = frozenset({"capa", "row_version"})
#: the roles that edit an NCR; anyone else with update (仓管员) only executes it
_NCR_EDITORS = frozenset({"qc_inspector", "quality_engineer", "qc_manager"})
_CAPA_TO_VERIFY = ("d4_root_cause", "d5_corrective_action")


def _label(compiled: CompiledForm, key: str) -> str:
    f = compiled.definition.field(key)
    return str(f.label.get("zh-CN") or key) if f is not None else key


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _where_lot_lies(conn: Connection, forms: Any, item: int, lot: int) -> int | None:
    """The location holding most of the lot's stock (所在库位 of an NCR opened without one), or None."""
    rows = [r for r in B.on_hand(conn, forms, item=item, lot=lot, limit=100) if r["qty"] > 0]
    return max(rows, key=lambda r: (r["qty"], -r["location"]))["location"] if rows else None


def _location_for_stock(compiled: CompiledForm, ncr: dict[str, Any], lines: list[dict[str, Any]]) -> None:
    """Approving dispositions that move stock (报废, 退供应商, 让步接收 with a rework part split off) needs
    the NCR's 所在库位: refused at approval, naming the field, not when the storekeeper executes."""
    kinds = {ln.get("disposition") for ln in lines}
    needs = kinds & {"scrap", "return_to_supplier"} or ({"use_as_is", "rework"} <= kinds and ncr.get("lot") is not None)
    if not needs or ncr.get("location") is not None:
        return
    label = _label(compiled, "location")
    raise InvalidInput(f"不合格品处理单 {ncr.get('code')} 的处置要动用库存，请先填写「{label}」（不合格品现在放在哪个库位）再批准",
                       f"NCR {ncr.get('code')}'s dispositions move stock: fill in its location (where the pieces lie) before approving",
                       problems=[Problem("/location", f"请填写{label}", "fill in the location", "required")])


def _due_not_past(ctx: Ctx, compiled: CompiledForm, due: Any, row: int | None) -> None:
    """A CAPA's 要求完成日期 is today or later: a date already past is a typo, refused naming the field."""
    if due is None:
        return
    try:
        day = due if isinstance(due, dt.date) and not isinstance(due, dt.datetime) else dt.date.fromisoformat(str(due)[:10])
    except ValueError:
        return          # the field's own check says what is wrong with it
    # the plant's today, or the UTC date when that is earlier (a date typed just after midnight elsewhere)
    today = min(ctx.now.astimezone(ctx.tz).date(), ctx.now.astimezone(dt.timezone.utc).date())
    if day >= today:
        return
    label = _label(compiled, "due_date")
    where = f"第 {row + 1} 行：" if row is not None else ""
    raise InvalidInput(f"{where}「{label}」{day.isoformat()} 已经过去，请填写今天（{today.isoformat()}）或以后的日期",
                       f"{'row %d: ' % (row + 1) if row is not None else ''}the due date {day.isoformat()} is in the past: "
                       f"enter today ({today.isoformat()}) or later",
                       problems=[Problem(f"/{row}/due_date" if row is not None else "/due_date", "日期已过", "in the past", "past")])


class QualityRecordHooks(RecordHooks):
    def __init__(self, forms: Any) -> None:
        self.forms = forms

    def _mine(self, conn: Connection, compiled: CompiledForm) -> bool:
        return compiled.name in (X.NCR, X.CAPA) and X.owned(conn, compiled)

    # ------------------------------------------------------------ create
    def before_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[dict[str, Any]]) -> None:
        if compiled.name == X.CAPA and self._mine(conn, compiled):
            for i, r in enumerate(rows):
                _due_not_past(ctx, compiled, r.get("due_date"), i if len(rows) > 1 else None)
            return
        if compiled.name != X.NCR or not self._mine(conn, compiled):
            return
        items = D.rows_by_id(conn, self.forms.get(conn, D.ITEM), [r.get("item") for r in rows])
        for r in rows:       # the quantity is in the item's stock unit: say which
            item = items.get(int(r["item"])) if r.get("item") is not None else None
            if item is not None and _blank(r.get("unit")):
                r["unit"] = item.get("unit")
            if r.get("location") is None and r.get("lot") is not None and r.get("item") is not None:
                r["location"] = _where_lot_lies(conn, self.forms, int(r["item"]), int(r["lot"]))

    # ------------------------------------------------------------ update
    def before_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                      new: dict[str, Any], patched: set[str], transition: str | None) -> None:
        if compiled.name in (D.LOT, "stock_receipt") and D.is_core(compiled):
            self._stock_side(conn, compiled, record_id, old, new, patched)
            return
        if not self._mine(conn, compiled) or conn.info.get(X.FLAG):
            return
        if compiled.name == X.NCR:
            self._storekeeper_only_executes(ctx, old, new, patched)
            self._ncr_update(ctx, compiled, old, new, patched)
        else:
            self._capa_update(ctx, compiled, old, new, patched)

    @staticmethod
    def _storekeeper_only_executes(ctx: Ctx, old: Mapping[str, Any], new: dict[str, Any], patched: set[str]) -> None:
        """仓管员 has update on the NCR only to run 执行处置 (approved → dispositioned): nothing else."""
        actor = ctx.actor
        if actor.id is None or actor.is_admin or actor.role_names & _NCR_EDITORS:
            return
        edits = {k for k in patched if k not in ("status", "row_version") and (k not in new or new.get(k) != old.get(k))}
        if old.get("status") == "approved" and new.get("status") == "dispositioned" and not edits:
            return
        raise AccessDenied(f"仓管员只能对「处置已批准」的不合格品处理单 {old.get('code')} 点「执行处置」，不能修改其他内容；"
                           "需要修改请联系质量经理",
                           f"a storekeeper only executes the approved dispositions of NCR {old.get('code')}; "
                           "ask a quality manager for other changes")

    def _stock_side(self, conn: Connection, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                    new: dict[str, Any], patched: set[str]) -> None:
        """A lot is not 放行 released by hand while its inspection lot is open; a receipt is not reversed
        while an NCR of its inspection lots is approved (its dispositions would post against stock gone)."""
        if compiled.name == D.LOT:
            if (new.get("status") == "released" and old.get("status") != "released" and not I.engine_writing(conn)
                    and not conn.info.get(X.FLAG)):
                R.refuse_release_while_inspected(conn, self.forms, record_id, old)
        elif new.get("reversed_by") and not old.get("reversed_by"):
            R.refuse_reversal_while_approved(conn, self.forms, record_id, old)

    def _ncr_update(self, ctx: Ctx, compiled: CompiledForm, old: Mapping[str, Any], new: dict[str, Any], patched: set[str]) -> None:
        source, target = old.get("status"), new.get("status")
        if target == "approved" and source != "approved" and ctx.actor.id is not None:
            raise AccessDenied(f"不合格品处理单 {old.get('code')} 的处置须经审批流程「不合格品处置评审」批准：请点「提交审批」，由质量经理批准",
                               f"NCR {old.get('code')}'s dispositions are approved by the flow nonconformance_review: submit it "
                               "for approval; a quality manager approves it")
        if source == "open":
            return
        changed = sorted(k for k in patched if k not in _NCR_LATE and k != "status" and (k not in new or new.get(k) != old.get(k)))
        if target != source:
            changed = [k for k in changed if k != "closed_at"]      # set by the 关闭 transition
        if changed:
            names = "、".join(f"「{_label(compiled, k)}」" for k in changed)
            state = _NCR_STATUS_ZH.get(str(source), str(source))
            raise Conflict(f"不合格品处理单 {old.get('code')} 已是「{state}」，不能再修改{names}"
                           + ("：批准的处置要改变，请质量经理「取消」这张处理单后新开一张" if source == "approved"
                              else "：如需补充，请新建纠正预防措施（CAPA）并选择这张处理单"),
                           f"NCR {old.get('code')} is {source} and its {', '.join(changed)} no longer change"
                           + (": to change approved dispositions, a quality manager cancels it and opens a new one"
                              if source == "approved" else ""),
                           detail={"fields": changed, "status": source})

    def _capa_update(self, ctx: Ctx, compiled: CompiledForm, old: Mapping[str, Any], new: dict[str, Any], patched: set[str]) -> None:
        source, target = old.get("status"), new.get("status")
        if "due_date" in patched and new.get("due_date") != old.get("due_date"):
            _due_not_past(ctx, compiled, new.get("due_date"), None)
        if source == "closed":
            changed = sorted(k for k in patched if k != "row_version" and (k not in new or new.get(k) != old.get(k)))
            if changed:
                raise Conflict(f"纠正预防措施 {old.get('code')} 已关闭，不能再修改：问题再次发生请新开一张",
                               f"CAPA {old.get('code')} is closed and no longer changes: open a new one if the problem recurs",
                               detail={"fields": changed})
            return
        if target == source:
            return
        if target == "verifying":
            lack = [k for k in _CAPA_TO_VERIFY if compiled.definition.field(k) is not None and _blank(new.get(k))]
            if lack:
                names = "、".join(f"「{_label(compiled, k)}」" for k in lack)
                raise InvalidInput(f"提交效果验证前请先填写{names}", "write the root cause (D4) and the corrective action (D5) "
                                   "before verifying", problems=[Problem(f"/{k}", "请填写", "required", "required") for k in lack])
        if target == "closed":
            problems = []
            if _blank(new.get("effectiveness_check_date")):
                problems.append(Problem("/effectiveness_check_date", "请填写效果确认日期", "enter the check date", "required"))
            if new.get("effectiveness") != "effective":
                problems.append(Problem("/effectiveness", "效果须为「有效」", "must be effective", "not_effective"))
            if problems:
                now = "「无效」" if new.get("effectiveness") == "not_effective" else "还没有确认"
                raise Conflict(f"纠正预防措施 {old.get('code')} 的效果{now}：效果确认为「有效」并填写「效果确认日期」后才能关闭；"
                               "无效时请「退回整改」重新制定措施",
                               f"CAPA {old.get('code')} is closed only when its effectiveness check says effective (with the "
                               "check date); if not effective, send it back to work", problems=problems)

    def after_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[Mapping[str, Any]]) -> None:
        if compiled.name == X.CAPA and self._mine(conn, compiled):
            for r in rows:
                self._link_capa(conn, ctx, r)

    def _link_capa(self, conn: Connection, ctx: Ctx, capa: Mapping[str, Any]) -> None:
        """The NCR a CAPA names shows the CAPA's number (``nonconformance.capa``)."""
        if capa.get("nonconformance") is None:
            return
        ncr_form = self.forms.get(conn, X.NCR)
        if not X.owned(conn, ncr_form) or D.row(conn, ncr_form, int(capa["nonconformance"])) is None:
            return
        conn.info[X.FLAG] = conn.info.get(X.FLAG, 0) + 1
        try:
            update_many(conn=conn, registry=self.forms, ctx=D.acting(ctx), form=X.NCR,
                        patches=[(int(capa["nonconformance"]), {"capa": capa.get("code")}, None)])
        finally:
            conn.info[X.FLAG] -= 1

    def after_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                     new: Mapping[str, Any], changed: set[str]) -> None:
        if (compiled.name == "stock_receipt" and "reversed_by" in changed and new.get("reversed_by")
                and not old.get("reversed_by") and D.is_core(compiled)):
            R.cancel_open_ncrs_of_receipt(conn, self.forms, ctx, record_id, old)
            return
        if compiled.name == X.CAPA and "nonconformance" in changed and self._mine(conn, compiled):
            self._link_capa(conn, ctx, {**new, "code": new.get("code") or old.get("code")})
        if "status" not in changed or conn.info.get(X.FLAG) or compiled.name != X.NCR or not self._mine(conn, compiled):
            return
        source, target = old.get("status"), new.get("status")
        if source == "open" and target == "approved":
            lines = S.load_children(conn, compiled, [record_id], ["dispositions"])[record_id]["dispositions"]
            X.check_quantities(dict(new), lines)
            _location_for_stock(compiled, dict(new), lines)
        elif source == "approved" and target == "dispositioned":
            X.execute(conn, self.forms, ctx, compiled, record_id)

    # ------------------------------------------------------------ delete
    def before_delete(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, row: Mapping[str, Any]) -> None:
        if not self._mine(conn, compiled):
            return
        if compiled.name == X.NCR and row.get("status") not in ("open", "cancelled"):
            state = _NCR_STATUS_ZH.get(str(row.get("status")), str(row.get("status")))
            raise Conflict(f"不合格品处理单 {row.get('code')} 已是「{state}」，不能删除：它记录了批准和执行的处置",
                           f"NCR {row.get('code')} is {row.get('status')} and is not deleted: it records approved and executed dispositions")
        if compiled.name == X.CAPA and row.get("status") == "closed":
            raise Conflict(f"纠正预防措施 {row.get('code')} 已关闭，不能删除", f"CAPA {row.get('code')} is closed and is not deleted")


@hookimpl
def mom_record_hooks(forms: Any) -> RecordHooks:
    """NCR approval only by its flow and dispositions executed into stock; CAPA closed only when effective."""
    return QualityRecordHooks(forms)
