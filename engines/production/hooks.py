"""Record hooks of the production engine: every write path goes through the engine's rules.

- a new ``job_report`` (POST /api/records/job_report, an import, :func:`reports.report`) is checked
  and applied by :func:`reports.apply_report` before it is stored, a correction (event ``correct``)
  by :func:`corrections.apply_correction`; a stored one is neither edited (its note aside) nor deleted;
- a ``production_order`` moved to ``released`` through its state machine (the form's 下达 button)
  is released by the engine like :func:`release.release`: tasks and components, or refused;
- a new ``production_order`` takes its unit from its item;
- a saved ``bom`` or ``routing`` passes :mod:`checks` (no component cycle, machines of their work centre).

The hooks bind to the core pack's forms by name and act only on forms that have the fields the
engine needs, so another pack's form of the same name (the demo's ``production_order``) is left alone.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.production import backflush
from mom.engines.production import checks
from mom.engines.production import corrections
from mom.engines.production import documents as D
from mom.engines.production import release as R
from mom.engines.production import reports
from mom.engines.records.context import Ctx
from mom.engines.records.hooks import RecordHooks
from mom.platform.hookspecs import hookimpl

class ProductionHooks(RecordHooks):
    def __init__(self, forms: Any) -> None:
        self.forms = forms

    def before_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[dict[str, Any]]) -> None:
        if compiled.name not in (D.REPORT, D.ORDER) or not D.is_core(compiled):
            return
        if compiled.name == D.REPORT:
            backflush.begin(conn)           # each report's stock plan follows, posted once the reports are stored
            for i, r in enumerate(rows):
                rule = corrections.apply_correction if r.get("event") == corrections.EVENT else reports.apply_report
                rule(conn, self.forms, ctx, r, path=f"/{i}" if len(rows) > 1 else "")
        elif compiled.name == D.ORDER:
            items = D.compiled(conn, self.forms, D.ITEM)
            for r in rows:
                if not r.get("unit") and r.get("item") is not None:
                    item = D.row(conn, items, int(r["item"]))
                    if item is not None and item.get("unit"):
                        r["unit"] = item["unit"]

    def after_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[Mapping[str, Any]]) -> None:
        if compiled.name == D.REPORT and D.is_core(compiled):
            backflush.carry_out(conn, self.forms, ctx, rows)        # backflush and production receipt (倒冲、完工入库)
            return
        if compiled.name in (D.BOM, D.ROUTING) and checks.applies(compiled):
            for r in rows:
                checks.check_saved(conn, self.forms, compiled, int(r["id"]))

    def before_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                      new: dict[str, Any], patched: set[str], transition: str | None) -> None:
        if compiled.name == D.REPORT and D.is_core(compiled) and not D.engine_writing(conn):
            corrections.refuse_edit(compiled, old, new, patched)

    def before_delete(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, row: Mapping[str, Any]) -> None:
        if compiled.name == D.REPORT and D.is_core(compiled) and not D.engine_writing(conn):
            corrections.refuse_delete(row)

    def after_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                     new: Mapping[str, Any], changed: set[str]) -> None:
        if compiled.name in (D.BOM, D.ROUTING):
            if checks.applies(compiled):
                checks.check_saved(conn, self.forms, compiled, record_id)
            return
        if compiled.name != D.ORDER or "status" not in changed or D.engine_writing(conn) or not D.is_core(compiled):
            return
        if old.get("status") == "planned" and new.get("status") == "released":
            order = D.row(conn, compiled, record_id, lock=True)
            if order is not None:
                R.carry_out(conn, self.forms, ctx, order, transition=None)


@hookimpl
def mom_record_hooks(forms: Any) -> RecordHooks:
    """Job reports obey the production rules on every path; an order released from its form is
    released by the engine."""
    return ProductionHooks(forms)
