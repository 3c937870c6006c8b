"""Record hooks of the equipment pack's maintenance forms (issue 23): every write path (API, import, form
buttons, rules) obeys them.

- ``maintenance_order`` 维修保养工单: people never write the engine's fields (source, stamps, minutes); its
  buttons 响应 / 开始维修 / 完工 / 关闭 stamp ``responded_at`` / ``started_at`` / ``finished_at`` /
  ``closed_at`` with the clock of the write and compute the response and repair minutes; a repair is
  finished only with its failure cause (故障原因); a closed or cancelled order changes no more (note
  aside); orders are cancelled, never deleted; spare-part lines once issued stay as they were.
  A stopped machine comes back (status idle) when its last open repair order is finished or cancelled;
  a PM order started marks the machine 保养, finished moves its plan's next due (:mod:`pm`).
- ``fault_report`` 设备报修: the reporter and time are the writer's; creating one opens its repair order
  (:func:`repair.open_repair_order`, urgency 停机 stops the machine) and notes the order's number on it.
- ``equipment`` 设备台账: a machine's parent is a line, a component's parent a machine or a component, a
  line has none; no record is its own ancestor (:mod:`ledger`).
- ``pm_plan`` 保养计划: its next due is the engine's (first due day at the start time for a calendar plan).

Each rule applies only to the equipment pack's own forms (by name and owning pack, :func:`pack.owns`).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.maintenance import pack as K
from mom.engines.maintenance import ledger, pm, repair, spares
from mom.engines.records import service as S
from mom.engines.records.context import Ctx
from mom.engines.records.hooks import RecordHooks
from mom.platform.errors import Conflict, InvalidInput, Problem
from mom.platform.hookspecs import hookimpl

_MINE = (K.ORDER, K.REPORT, K.PLAN, K.EQUIPMENT)


def _label(compiled: CompiledForm, key: str) -> str:
    f = compiled.definition.field(key)
    return str(f.label.get("zh-CN") or key) if f is not None else key


class MaintenanceHooks(RecordHooks):
    def __init__(self, forms: Any) -> None:
        self.forms = forms

    def _mine(self, conn: Connection, compiled: CompiledForm) -> bool:
        return compiled.name in _MINE and not K.engine_writing(conn) and K.owns(conn, compiled)

    # ------------------------------------------------------------ create
    def before_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[dict[str, Any]]) -> None:
        if not self._mine(conn, compiled):
            return
        for i, row in enumerate(rows):
            if compiled.name == K.EQUIPMENT:
                ledger.check_parent(conn, compiled, None, row, f"/{i}" if len(rows) > 1 else "")
            elif compiled.name == K.ORDER:
                self._manual_order(ctx, row)
            elif compiled.name == K.REPORT:
                row.update(reported_at=ctx.now, reported_by=ctx.actor.id, maintenance_order=None)
            else:
                pm.check_plan(conn, self.forms, row, f"/{i}" if len(rows) > 1 else "")
                row.update(last_done=None, last_reading=None)
                row["next_due"] = pm.first_due(row, ctx)

    @staticmethod
    def _manual_order(ctx: Ctx, row: dict[str, Any]) -> None:
        """An order a person opens: 手工开单, reported now, the engine's fields cleared."""
        for k in K.ENGINE_FIELDS:
            row[k] = None
        row.update(source="manual", status="reported", reported_at=ctx.now)
        if row.get("kind") != "pm" and row.get("planned_start") is None:
            row["planned_start"] = ctx.now
        if row.get("kind") != "pm" and row.get("planned_end") is None:
            import datetime as dt
            row["planned_end"] = K.aware(row["planned_start"]) + dt.timedelta(hours=repair.DEFAULT_REPAIR_HOURS)

    def after_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[Mapping[str, Any]]) -> None:
        if compiled.name == K.REPORT and self._mine(conn, compiled):
            for r in rows:
                self._open_for_report(conn, ctx, r)
        elif compiled.name == K.ORDER and self._mine(conn, compiled):
            for r in rows:
                if r.get("kind") == "repair" and r.get("machine_stopped") is not False and r.get("machine") is not None:
                    repair.set_machine_status(conn, self.forms, ctx, int(r["machine"]), "down")

    def _open_for_report(self, conn: Connection, ctx: Ctx, r: Mapping[str, Any]) -> None:
        symptom = str(r.get("symptom") or "").strip()
        first = symptom.splitlines()[0] if symptom else "设备报修"
        code = repair.open_repair_order(conn, self.forms, ctx, machine_id=int(r["machine"]), title_zh=f"报修：{first}"[:200],
                                        title_en=f"fault report {r.get('code')}", source="fault_report", ref=str(r.get("code")),
                                        symptom=symptom, machine_stopped=r.get("urgency") == "high", equipment=r.get("equipment"))
        with K.engine_writes(conn):
            S.update_record(conn=conn, registry=self.forms, ctx=K.acting(ctx), form=K.REPORT, record_id=int(r["id"]),
                            patch={"maintenance_order": code})

    # ------------------------------------------------------------ update
    def before_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                      new: dict[str, Any], patched: set[str], transition: str | None) -> None:
        if not self._mine(conn, compiled):
            return
        changed = {k for k in patched if k in new and new.get(k) != old.get(k)} | (patched - set(new))
        if compiled.name == K.EQUIPMENT:
            if changed & {"parent_equipment", "kind"}:
                ledger.check_parent(conn, compiled, record_id, new, "")
            return
        if compiled.name == K.PLAN:
            if changed & {"trigger", "interval", "alarm_tag", "machine"}:
                pm.check_plan(conn, self.forms, new)
            if changed & {"trigger", "interval", "first_due", "start_time"} and old.get("last_done") is None:
                new["next_due"] = pm.first_due(new, ctx)
            return
        if compiled.name == K.REPORT:
            if old.get("maintenance_order") and changed & {"machine"}:
                raise Conflict(f"报修单 {old.get('code')} 已开维修工单，设备不能再改：请新报修",
                               f"fault report {old.get('code')} already opened its repair order: report again instead")
            return
        self._check_order_edit(compiled, old, new, changed)
        self._stamp(ctx, old, new)

    @staticmethod
    def _check_order_edit(compiled: CompiledForm, old: Mapping[str, Any], new: dict[str, Any], changed: set[str]) -> None:
        code = old.get("code")
        if old.get("status") in ("closed", "cancelled") and changed - {"note"}:
            raise Conflict(f"维修保养工单 {code} {K.STATUS_ZH[str(old['status'])]}，不能再修改（备注除外）",
                           f"maintenance order {code} is {old.get('status')} and no longer changes (except its note)")
        engine = sorted(k for k in changed if k in K.ENGINE_FIELDS)
        if engine:
            raise Conflict(f"工单的「{'、'.join(_label(compiled, k) for k in engine)}」由系统记录，不能手工修改",
                           f"the order's {', '.join(engine)} are recorded by the system", detail={"fields": engine})
        fixed = sorted(k for k in changed if k in ("kind", "machine"))
        if fixed:
            raise Conflict(f"工单 {code} 的「{'、'.join(_label(compiled, k) for k in fixed)}」开单后不能修改：请取消后重新开单",
                           f"order {code}: {', '.join(fixed)} are fixed once opened; cancel it and open another")

    @staticmethod
    def _stamp(ctx: Ctx, old: Mapping[str, Any], new: dict[str, Any]) -> None:
        """The button's time and the minutes that follow from it (the clock of this write)."""
        before, after, now = old.get("status"), new.get("status"), ctx.now
        if before == after:
            return
        if after in ("responded", "in_repair") and new.get("responded_at") is None:
            new["responded_at"] = now
            new["response_min"] = K.minutes(new.get("reported_at"), now)
        if after in ("responded", "in_repair") and new.get("technician") is None:
            new["technician"] = ctx.actor.id
        if after == "in_repair":
            new["started_at"] = now
        if after == "done":
            if new.get("kind") == "repair" and new.get("failure_cause") is None:
                raise InvalidInput("维修完工前请选择故障原因", "choose the failure cause before finishing a repair",
                                   problems=[Problem("/failure_cause", "请选择故障原因", "choose the failure cause", "required")])
            new["finished_at"] = now
            new["repair_min"] = K.minutes(new.get("started_at") or new.get("responded_at") or new.get("reported_at"), now)
        if after == "closed":
            new["closed_at"] = now

    def after_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                     new: Mapping[str, Any], changed: set[str]) -> None:
        if compiled.name != K.ORDER or not K.owns(conn, compiled):
            return
        if "parts" in changed and not K.engine_writing(conn):
            spares.check_issued_kept(conn, self.forms, compiled, record_id)
        if "status" not in changed or new.get("machine") is None:
            return
        machine, status = int(new["machine"]), new.get("status")
        stops = new.get("machine_stopped") is not False
        if new.get("kind") == "pm" and status == "in_repair" and stops:
            repair.set_machine_status(conn, self.forms, ctx, machine, "maintenance")
        if new.get("kind") == "pm" and status in ("done", "cancelled") and stops and old.get("status") == "in_repair":
            m = K.machine_row(conn, self.forms, machine)
            if m is not None and m.get("status") == "maintenance":
                repair.set_machine_status(conn, self.forms, ctx, machine, "idle")
        if new.get("kind") == "pm" and status == "done":
            pm.on_order_done(conn, self.forms, ctx, {**new, "id": record_id})
        if new.get("kind") == "repair" and status in ("done", "cancelled") and stops \
                and repair.stopped_repairs_open(conn, self.forms, machine, besides=record_id) == 0:
            m = K.machine_row(conn, self.forms, machine)
            if m is not None and m.get("status") == "down":
                repair.set_machine_status(conn, self.forms, ctx, machine, "idle")

    # ------------------------------------------------------------ delete
    def before_delete(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, row: Mapping[str, Any]) -> None:
        if compiled.name == K.ORDER and self._mine(conn, compiled):
            raise Conflict(f"维修保养工单 {row.get('code')} 不能删除：不再需要时请由设备主管「取消」",
                           f"maintenance order {row.get('code')} is not deleted: an equipment manager cancels it instead")
        if compiled.name == K.REPORT and self._mine(conn, compiled) and row.get("maintenance_order"):
            raise Conflict(f"报修单 {row.get('code')} 已开维修工单，不能删除", f"fault report {row.get('code')} opened a repair order and stays")


@hookimpl
def mom_record_hooks(forms: Any) -> RecordHooks:
    """Maintenance: repair orders opened from fault reports, the orders' buttons stamped, PM plans moved on."""
    return MaintenanceHooks(forms)


def pm_tick(rt: Any, args: Mapping[str, Any], names: Mapping[str, Any]) -> dict[str, Any]:
    """``maintenance.pm_tick``: the PM orders due now, their numbers."""
    return {"opened": [str(o["code"]) for o in pm.run(rt.conn, rt.forms, rt.ctx)]}


@hookimpl
def mom_engine_hooks() -> dict[str, Any]:
    """``maintenance.pm_tick``: open the PM orders that are due (保养计划到期开保养工单)."""
    return {"maintenance.pm_tick": pm_tick}
