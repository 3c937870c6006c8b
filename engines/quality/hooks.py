"""The quality pack's record hooks (issue 22): every write path (API, import, form buttons, rules) obeys them.

- ``stock_receipt`` (core) posted → IQC lots opened and the lots quarantined; reversed → its open
  inspection lots cancelled (:mod:`iqc`);
- ``inspection_lot``: people never write the engine's fields (sampling, Ac/Re, result, defects, sources,
  inspector and time, NCR), whatever their role; plan, item, quantity and type are fixed once the lot
  exists (cancel it and open another); a judged or cancelled lot is final. A lot a person creates gets
  its sampling from its plan like an engine-opened one. Moving it to 已判定 judges it
  (:func:`judging.judge`) and, for IQC, releases or blocks its stock and opens an NCR (:mod:`iqc`);
- ``quality_state`` is written only by the engine; ``spc_alarm`` is created and deleted only by the engine
  (people acknowledge it: 确认人, 确认时间, 处理说明).

Each rule applies only to the quality pack's own forms (by name and owning pack, :func:`inspection.owned`).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.inventory import documents as D
from mom.engines.quality import inspection as I
from mom.engines.quality import iqc, judging
from mom.engines.records.context import Ctx
from mom.engines.records.hooks import RecordHooks
from mom.platform.errors import Conflict, InvalidInput, Problem
from mom.platform.hookspecs import hookimpl

engine_writes = I.engine_writes          # the contract other quality modules use (spc_alarms)
ALARM = "spc_alarm"
_ALARM_PEOPLE = ("acknowledged_by", "acknowledged_at", "note")
_FIXED = ("inspection_type", "plan", "item", "lot_qty", "lot", "supplier")


def _label(compiled: CompiledForm, key: str) -> str:
    f = compiled.definition.field(key)
    return str(f.label.get("zh-CN") or key) if f is not None else key


def _resuming(old: Mapping[str, Any], new: Mapping[str, Any], changed: set[str]) -> bool:
    """A discontinued switching state moved back to tightened (恢复抽样检验), nothing else changed."""
    return (old.get("severity") == "discontinued" and new.get("severity") == "tightened"
            and changed <= {"severity"})


class QualityHooks(RecordHooks):
    def __init__(self, forms: Any) -> None:
        self.forms = forms

    def _mine(self, conn: Connection, compiled: CompiledForm) -> bool:
        if compiled.name == ALARM:
            got = compiled.memo.get("quality_alarm_owned")
            if got is None:
                from sqlalchemy import select
                owner = conn.execute(select(I.T.pack_item.c.pack).where(I.T.pack_item.c.kind == "forms",
                                                                        I.T.pack_item.c.name == ALARM)).scalar()
                got = compiled.memo["quality_alarm_owned"] = owner == I.PACK
            return bool(got)
        return compiled.name in (I.LOT, I.STATE) and I.owned(conn, compiled)

    def engine_only(self, conn: Connection, compiled: CompiledForm) -> frozenset[str]:
        """Switching states and SPC alarms are the engine's: never created, imported or deleted by hand (a quality
        manager resumes a state, an engineer acknowledges an alarm: updates stay)."""
        if compiled.name in (I.STATE, ALARM) and self._mine(conn, compiled):
            return frozenset({"create", "import", "delete"})
        return frozenset()

    # ------------------------------------------------------------ create
    def before_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[dict[str, Any]]) -> None:
        if compiled.name not in (I.LOT, I.STATE, ALARM) or I.engine_writing(conn) or not self._mine(conn, compiled):
            return
        if compiled.name == I.STATE:
            raise Conflict("抽样转移状态由系统在检验单判定时维护，不能手工新建、修改或删除",
                           "switching states are kept by the system when lots are judged, never written by hand")
        if compiled.name == ALARM:
            raise Conflict("判异报警由系统在检验读数进控制图时产生，不能手工新建",
                           "SPC alarms are raised by the system from inspection readings, never created by hand")
        for i, row in enumerate(rows):
            self._fill_manual_lot(conn, compiled, row, i if len(rows) > 1 else None)

    def _fill_manual_lot(self, conn: Connection, compiled: CompiledForm, row: dict[str, Any], index: int | None) -> None:
        """A lot a person opens: the engine's fields cleared, its sampling from its plan."""
        at = f"/{index}" if index is not None else ""
        for k in I.ENGINE_FIELDS:
            if compiled.definition.field(k) is not None:     # (a field a plant's older version lacks stays out)
                row[k] = None
        row["status"] = "pending"
        plan_form = I.require_form(conn, self.forms, I.PLAN)
        plan = D.row(conn, plan_form, int(row["plan"])) if row.get("plan") is not None else None
        if plan is None:
            raise InvalidInput("请选择检验方案", "choose an inspection plan", problems=[Problem(f"{at}/plan", "请选择检验方案", "required", "required")])
        if row.get("item") is not None and int(row["item"]) != int(plan["item"]):
            raise InvalidInput(f"检验方案 {plan.get('code')} 是另一个物料的：请选该物料的方案，或不填物料",
                               f"inspection plan {plan.get('code')} is for another item", problems=[Problem(f"{at}/item", "与方案的物料不一致", "not the plan's item", "mismatch")])
        if row.get("inspection_type") not in (None, plan["inspection_type"]):
            raise InvalidInput(f"检验方案 {plan.get('code')} 是另一种检验类型的：请选对应类型的方案",
                               f"inspection plan {plan.get('code')} is of another inspection type",
                               problems=[Problem(f"{at}/inspection_type", "与方案的检验类型不一致", "not the plan's type", "mismatch")])
        row["item"], row["inspection_type"] = int(plan["item"]), plan["inspection_type"]
        row.update(I.plan_sampling(conn, self.forms, plan, item=int(plan["item"]), supplier=row.get("supplier"),
                                   qty=row.get("lot_qty")))

    # ------------------------------------------------------------ update
    def before_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                      new: dict[str, Any], patched: set[str], transition: str | None) -> None:
        if compiled.name not in (I.LOT, I.STATE, ALARM) or I.engine_writing(conn) or not self._mine(conn, compiled):
            return
        # a child table given in the patch (``results``) is not in ``new``/``old``: it counts as changed
        changed = {k for k in patched if k not in new or new.get(k) != old.get(k)}
        if compiled.name == I.STATE:
            if not _resuming(old, new, changed):
                raise Conflict("抽样转移状态由系统在检验单判定时维护，不能手工修改；暂停的抽样检验由质量经理「恢复抽样检验」",
                               "switching states are kept by the system when lots are judged, never changed by hand; a quality "
                               "manager resumes a discontinued one")
            return
        if compiled.name == ALARM:
            bad = sorted(k for k in changed if k not in _ALARM_PEOPLE)
            if bad:
                raise Conflict(f"判异报警的「{'、'.join(_label(compiled, k) for k in bad)}」由系统记录，只能填写确认人、确认时间和处理说明",
                               f"an SPC alarm's {', '.join(bad)} are the system's; only acknowledgement fields may change")
            return
        if transition in ("start", "judge", "cancel") and old.get("status") in ("judged", "cancelled"):
            raise self._final(conn, compiled, old, transition)
        self._check_lot_edit(compiled, old, new, changed)

    @staticmethod
    def _final(conn: Connection, compiled: CompiledForm, old: Mapping[str, Any], transition: str) -> Conflict:
        """A judged or cancelled lot asked to start, judge or cancel again — typically two inspectors judging at
        the same moment: the second is told who judged it and how, in words (not the state machine's no-op)."""
        from mom.engines.records.lookup import user_names
        sm = compiled.definition.state_machine
        label = next((t.label.get("zh-CN") for t in (sm.transitions if sm else ()) if t.key == transition), transition)
        code = old.get("code")
        if old.get("status") == "cancelled":
            return Conflict(f"检验单 {code} 已取消，不能再「{label}」；如需检验请新开检验单",
                            f"inspection lot {code} is cancelled and cannot be {transition}d; open a new lot to inspect",
                            detail={"status": "cancelled"})
        who = user_names(conn, {old["inspected_by"]}).get(old["inspected_by"], "") if old.get("inspected_by") else ""
        result = {"accepted": "合格", "rejected": "不合格"}.get(str(old.get("result")), "")
        return Conflict(f"检验单 {code} 刚刚已{f'由 {who} ' if who else ''}判定{f'为「{result}」' if result else ''}，不能再「{label}」："
                        "请刷新页面查看判定结果；如需复检请新开检验单",
                        f"inspection lot {code} has just been judged{' by ' + who if who else ''}"
                        f"{' (' + str(old.get('result')) + ')' if old.get('result') else ''}: reload to see the result; "
                        "open a new lot to re-inspect", detail={"status": "judged", "result": old.get("result")})

    def _check_lot_edit(self, compiled: CompiledForm, old: Mapping[str, Any], new: dict[str, Any], changed: set[str]) -> None:
        code = old.get("code")
        if old.get("status") in ("judged", "cancelled") and changed - {"note"}:
            state = "已判定" if old.get("status") == "judged" else "已取消"
            raise Conflict(f"检验单 {code} {state}，不能再修改（备注除外）；如需复检请新开检验单",
                           f"inspection lot {code} is {old.get('status')} and no longer changes (except its note); open a new lot to re-inspect")
        engine = sorted(k for k in changed if k in I.ENGINE_FIELDS)
        if engine:
            raise Conflict(f"检验单的「{'、'.join(_label(compiled, k) for k in engine)}」由系统按抽样方案和检验记录填写，不能手工修改",
                           f"the lot's {', '.join(engine)} are set by the system from the sampling plan and the readings",
                           detail={"fields": engine})
        fixed = sorted(k for k in changed if k in _FIXED)
        if fixed:
            raise Conflict(f"检验单 {code} 的「{'、'.join(_label(compiled, k) for k in fixed)}」开单后不能修改（抽样方案按它们确定）："
                           "请取消这张检验单后重新开单", f"inspection lot {code}: {', '.join(fixed)} are fixed once opened (the "
                           "sampling plan stands on them): cancel it and open a new one", detail={"fields": fixed})

    def after_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                     new: Mapping[str, Any], changed: set[str]) -> None:
        if compiled.name == iqc.RECEIPT:
            self._receipt(conn, ctx, compiled, record_id, old, new, changed)
            return
        if compiled.name == I.STATE and not I.engine_writing(conn) and _resuming(old, new, changed) and self._mine(conn, compiled):
            judging.resume(conn, self.forms, ctx, record_id)
            return
        if (compiled.name != I.LOT or "status" not in changed or new.get("status") != "judged"
                or I.engine_writing(conn) or not self._mine(conn, compiled)):
            return
        lot = judging.judge(conn, self.forms, ctx, record_id)
        patch = iqc.after_judged(conn, self.forms, ctx, lot)
        if "release_transfer" in patch and compiled.definition.field("release_transfer") is None:
            patch.pop("release_transfer")      # a plant still on quality 1.0.0: the note names the transfer
        if patch:
            with I.engine_writes(conn):
                from mom.engines.records.batch import update_many
                update_many(conn=conn, registry=self.forms, ctx=I.acting(ctx), form=compiled.name,
                            patches=[(int(record_id), patch, None)])

    def _receipt(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                 new: Mapping[str, Any], changed: set[str]) -> None:
        if not D.is_core(compiled):
            return
        if "posted_at" in changed and new.get("posted_at") and not old.get("posted_at") and not new.get("reversal_of"):
            iqc.on_receipt_posted(conn, self.forms, ctx, {**new, "id": record_id})
        elif "reversed_by" in changed and new.get("reversed_by") and not old.get("reversed_by"):
            iqc.on_receipt_reversed(conn, self.forms, ctx, {**new, "id": record_id})

    # ------------------------------------------------------------ delete
    def before_delete(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, row: Mapping[str, Any]) -> None:
        if compiled.name not in (I.LOT, I.STATE, ALARM) or I.engine_writing(conn) or not self._mine(conn, compiled):
            return
        if compiled.name == I.LOT:
            raise Conflict(f"检验单 {row.get('code')} 不能删除：不再需要时请由质量经理「取消」",
                           f"inspection lot {row.get('code')} is not deleted: a quality manager cancels it instead")
        raise Conflict("这是系统记录（抽样转移状态 / 判异报警），不能删除", "this record is the system's (switching state / SPC alarm) and is not deleted")


@hookimpl
def mom_record_hooks(forms: Any) -> RecordHooks:
    """Quality: IQC on posted receipts, inspection lots judged by the engine, switching states and alarms engine-only."""
    return QualityHooks(forms)
