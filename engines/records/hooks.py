"""Hook points of the records service, so that engines built on records (workflow locks, record
state machines, event rules) see every write on every path: API, import, rules and the UI.

The base class does nothing. ``FormRegistry.hooks`` holds the instance in use: the platform
(``mom.platform.composition``) chains every plug-in's ``mom_record_hooks`` object (the workflow's
``WorkflowHooks`` first). Every hook runs inside the writer's transaction, so
whatever it writes (an outbox event, a started workflow) commits or rolls back with the change.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.records.context import Ctx


class RecordHooks:
    def before_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[dict[str, Any]]) -> None:
        """May check or fill ``rows`` (the values of new records) before they are inserted; raise to refuse."""

    def after_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[Mapping[str, Any]]) -> None:
        """``rows`` are the stored rows, ids included."""

    def before_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                      new: dict[str, Any], patched: set[str], transition: str | None) -> None:
        """May check or change ``new`` (merged values) before the update; raise to refuse."""

    def after_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                     new: Mapping[str, Any], changed: set[str]) -> None:
        """Called only when something changed."""

    def before_delete(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, row: Mapping[str, Any]) -> None:
        """Raise to refuse the deletion."""

    def after_delete(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, row: Mapping[str, Any]) -> None:
        """After a soft delete."""

    def after_restore(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int) -> None:
        """After a soft-deleted record came back."""

    def engine_only(self, conn: Connection, compiled: CompiledForm) -> frozenset[str]:
        """The actions on records of ``compiled`` (of ``create``, ``import``, ``update``, ``delete``) that only an
        engine performs — the other hooks refuse them to people (the engine's own writes pass:
        :mod:`mom.engines.records.engine_writes`). They are offered to nobody, administrators included: the
        form's ``actions`` leave them out, so no 新建 / 导入 / 编辑 / 删除 is shown. Default: none."""
        return frozenset()

    def create_from_text(self, conn: Connection, target: CompiledForm, texts: list[str]) -> dict[str, int]:
        """Records of ``target`` made (or found) for ``texts`` that a reference field marked ``create_missing``
        named but no record matched — text -> id. Only the engine that owns ``target`` knows how to make one
        from a name alone (its code, its defaults); it answers for its own forms and returns {} for others.
        Called inside the writer's transaction, only for a writer who may read every live record of
        ``target``. Default: nothing made (the value is refused as not found)."""
        return {}


class ChainHooks(RecordHooks):
    """Several hook sets, each hook point called on every part in order (workflow first, then report
    summaries)."""

    def __init__(self, *parts: RecordHooks) -> None:
        self.parts = parts

    def __getattr__(self, name: str) -> Any:
        """Attributes of the parts (``forms.hooks.flows`` is the workflow hooks' registry)."""
        for p in self.__dict__.get("parts", ()):
            if hasattr(p, name):
                return getattr(p, name)
        raise AttributeError(name)

    def engine_only(self, conn: Connection, compiled: CompiledForm) -> frozenset[str]:
        """What any part reserves to its engine (the union)."""
        out: frozenset[str] = frozenset()
        for p in self.parts:
            out |= p.engine_only(conn, compiled)
        return out

    def create_from_text(self, conn: Connection, target: CompiledForm, texts: list[str]) -> dict[str, int]:
        """The first part that makes records of ``target`` answers."""
        for p in self.parts:
            made = p.create_from_text(conn, target, texts)
            if made:
                return made
        return {}


def _fan_out(point: str) -> Any:
    def call(self: ChainHooks, *args: Any) -> None:
        for p in self.parts:
            getattr(p, point)(*args)
    call.__name__ = point
    return call


for _point in ("before_create", "after_create", "before_update", "after_update", "before_delete", "after_delete",
               "after_restore"):
    setattr(ChainHooks, _point, _fan_out(_point))


NO_HOOKS = RecordHooks()
