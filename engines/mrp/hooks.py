"""MRP's record hook: a BOM (物料清单) about to change or be deleted marks the proposed suggestions of the
components it lists now, so that the next net-change run plans them again — a component the change drops is
no longer in the BOM when the run looks (pegging is not stored: ``pegging.py``), and its suggestions served
the BOM's parent. Two statements per BOM change, none for other forms or when MRP's forms are not installed.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.records.context import Ctx
from mom.engines.records.hooks import RecordHooks
from mom.platform.hookspecs import hookimpl


class MrpHooks(RecordHooks):
    def __init__(self, forms: Any) -> None:
        self.forms = forms

    def before_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                      new: dict[str, Any], patched: set[str], transition: str | None) -> None:
        if compiled.name == "bom":
            self._mark(conn, ctx, compiled, record_id)

    def before_delete(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, row: Mapping[str, Any]) -> None:
        if compiled.name == "bom":
            self._mark(conn, ctx, compiled, record_id)

    def _mark(self, conn: Connection, ctx: Ctx, bom: CompiledForm, record_id: int) -> None:
        lines = bom.children.get("lines")
        if lines is None or "component" not in lines.c:
            return
        got = self.forms.get_many(conn, ["mrp_suggestion"]).get("mrp_suggestion")   # absent: left out, no NotFound
        if got is None or "pegging" not in got.children:
            return
        s = got.main
        comps = sa.select(lines.c.component).where(lines.c.parent_id == record_id, lines.c.component.is_not(None))
        conn.execute(s.update().where(s.c.item.in_(comps), s.c.status == "proposed", s.c.deleted_at.is_(None))
                     .values(updated_at=ctx.now))


@hookimpl
def mom_record_hooks(forms: Any) -> RecordHooks:
    """BOM changes mark the proposed MRP suggestions of their components for the next net-change run."""
    return MrpHooks(forms)
