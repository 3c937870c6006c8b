"""Record hooks that open inspection lots from production and shipments (IPQC and OQC, issue 22).

- ``operation_task`` (core): its first start opens the first-article lot, its finish the last-article
  lot (:mod:`ipqc`); its quantities edited by hand obey the first-article block like a report;
- ``job_report`` (core), after the production engine applied it (a report or a correction, any path):
  pieces (good, scrap, rework) past an unaccepted first article under a plan that blocks production
  are refused (409), and patrol lots open for each multiple of the plan's quantity crossed;
- ``inspection_lot`` (quality pack) judged rejected, an IPQC or OQC lot: its NCR opens (with the order and
  operation task, or where the shipment takes the stock from); a first article that blocks production
  also opens the next first-article lot;
- ``stock_shipment`` (core): a draft's OQC lots follow its lines (:mod:`oqc`); posting it (过账) is refused
  until they are accepted; a deleted draft's pending lots are cancelled.

The engine hook ``quality.patrol_tick`` (the pack's schedule rule, ``mom quality patrol``) opens the
time-based patrol lots.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.inventory import documents as ID
from mom.engines.production import documents as PD
from mom.engines.quality import ipqc, oqc
from mom.engines.quality import trigger_lots as TL
from mom.engines.records.context import Ctx
from mom.engines.records.hooks import RecordHooks
from mom.platform.hookspecs import hookimpl

PD.prefetch_also(TL.PLAN, TL.LOT)       # every job report asks whether the quality pack is there: no statement of its own


class QualityTriggerHooks(RecordHooks):
    def __init__(self, forms: Any) -> None:
        self.forms = forms

    def after_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[Mapping[str, Any]]) -> None:
        if compiled.name == PD.REPORT and PD.is_core(compiled):
            # the quality forms come with the production forms' one read of this transaction (PD.prefetch_also)
            ipqc.on_reports(conn, PD.TxForms(self.forms), ctx, rows)
        elif oqc.applies(compiled) and not ID.engine_writing(conn):     # (a reversing shipment is the stock engine's)
            for r in rows:
                oqc.sync(conn, self.forms, ctx, compiled, r)

    def before_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                      new: dict[str, Any], patched: set[str], transition: str | None) -> None:
        if old.get("status") == "draft" and new.get("status") == "posted" and not new.get("reversal_of") \
                and oqc.applies(compiled):
            oqc.check_post(conn, self.forms, ctx, compiled, {**old, "id": record_id})

    def after_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                     new: Mapping[str, Any], changed: set[str]) -> None:
        if compiled.name == PD.TASK:
            if ("actual_start" in changed or "status" in changed) and PD.is_core(compiled):
                ipqc.on_task_changed(conn, PD.TxForms(self.forms), ctx, record_id, old, new)
            if changed & set(ipqc.PIECES) and PD.is_core(compiled) and not PD.engine_writing(conn):
                ipqc.on_task_patched(conn, self.forms, ctx, record_id, old, new)    # (a job report's: on_reports)
        elif compiled.name == TL.LOT:
            if "result" in changed and new.get("result") == "rejected" and TL.installed(conn, self.forms) is not None:
                ipqc.on_lot_judged(conn, self.forms, ctx, record_id, old, new)
                oqc.on_lot_rejected(conn, self.forms, ctx, record_id, old, new)
        elif oqc.applies(compiled) and new.get("status") == "draft":
            oqc.sync(conn, self.forms, ctx, compiled, {**new, "id": record_id})

    def after_delete(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, row: Mapping[str, Any]) -> None:
        if oqc.applies(compiled) and row.get("status") == "draft":
            oqc.on_deleted(conn, self.forms, ctx, {**row, "id": record_id})


@hookimpl
def mom_record_hooks(forms: Any) -> RecordHooks:
    """Inspection lots opened from operation tasks, job reports and sales shipments; shipments posted
    only after their outgoing inspection."""
    return QualityTriggerHooks(forms)


def patrol_tick(rt: Any, args: Mapping[str, Any], names: Mapping[str, Any]) -> dict[str, Any]:
    """``quality.patrol_tick``: the time-based patrol lots due now, their numbers."""
    opened = ipqc.patrol_tick(rt.conn, rt.forms, rt.ctx)
    return {"opened": [str(lt.get("code")) for lt in opened]}


@hookimpl
def mom_engine_hooks() -> dict[str, Any]:
    """``quality.patrol_tick``: open the patrol inspections due by time (巡检按时间)."""
    return {"quality.patrol_tick": patrol_tick}
