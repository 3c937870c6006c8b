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

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.inventory import documents as D
from mom.engines.quality import disposition as X
from mom.engines.records import service as S
from mom.engines.records.batch import update_many
from mom.engines.records.context import Ctx
from mom.engines.records.hooks import RecordHooks
from mom.platform.errors import AccessDenied, Conflict, InvalidInput, Problem
from mom.platform.hookspecs import hookimpl

_NCR_STATUS_ZH = {"open": "待处置", "approved": "处置已批准", "dispositioned": "已处置", "closed": "已关闭", "cancelled": "已取消"}
#: what may still change on an NCR past 待处置 (the transitions' own fields aside)
_NCR_LATE = frozenset({"capa", "row_version"})
_CAPA_TO_VERIFY = ("d4_root_cause", "d5_corrective_action")


def _label(compiled: CompiledForm, key: str) -> str:
    f = compiled.definition.field(key)
    return str(f.label.get("zh-CN") or key) if f is not None else key


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


class QualityRecordHooks(RecordHooks):
    def __init__(self, forms: Any) -> None:
        self.forms = forms

    def _mine(self, conn: Connection, compiled: CompiledForm) -> bool:
        return compiled.name in (X.NCR, X.CAPA) and X.owned(conn, compiled)

    # ------------------------------------------------------------ create
    def before_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[dict[str, Any]]) -> None:
        if compiled.name != X.NCR or not self._mine(conn, compiled):
            return
        items = D.rows_by_id(conn, self.forms.get(conn, D.ITEM), [r.get("item") for r in rows])
        for r in rows:       # the quantity is in the item's stock unit: say which
            item = items.get(int(r["item"])) if r.get("item") is not None else None
            if item is not None and _blank(r.get("unit")):
                r["unit"] = item.get("unit")

    # ------------------------------------------------------------ update
    def before_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                      new: dict[str, Any], patched: set[str], transition: str | None) -> None:
        if not self._mine(conn, compiled) or conn.info.get(X.FLAG):
            return
        if compiled.name == X.NCR:
            self._ncr_update(ctx, compiled, old, new, patched)
        else:
            self._capa_update(compiled, old, new, patched)

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

    def _capa_update(self, compiled: CompiledForm, old: Mapping[str, Any], new: dict[str, Any], patched: set[str]) -> None:
        source, target = old.get("status"), new.get("status")
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
        if compiled.name == X.CAPA and "nonconformance" in changed and self._mine(conn, compiled):
            self._link_capa(conn, ctx, {**new, "code": new.get("code") or old.get("code")})
        if "status" not in changed or conn.info.get(X.FLAG) or compiled.name != X.NCR or not self._mine(conn, compiled):
            return
        source, target = old.get("status"), new.get("status")
        if source == "open" and target == "approved":
            lines = S.load_children(conn, compiled, [record_id], ["dispositions"])[record_id]["dispositions"]
            X.check_quantities(dict(new), lines)
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
