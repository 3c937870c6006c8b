"""The operations of a form plan, one class per kind (as alembic's ops): each says what it does in both
languages (``describe``), runs itself in the caller's transaction (``apply``) and knows its inverse
(``reverse``), to be applied against the previous version of the form.

Reversing a data-destroying step restores the schema only: the inverse of adding a column drops it
(with its values), the inverse of dropping it adds an empty column; a backfill's inverse leaves the
filled values. Renames, retirements and restorations reverse exactly.

The core's kinds are registered through the ``mom_plan_operations`` hook (this module is a core
plug-in); :func:`make` builds an operation by kind from the registry.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateIndex as CreateIndexDDL, CreateTable as CreateTableDDL

from mom.engines.forms import columndata
from mom.engines.forms.compile import CompiledForm, field_column
from mom.engines.forms.model import FieldSpec
from mom.platform.errors import Conflict
from mom.platform.hookspecs import hookimpl
from mom.platform.plugins import plugin_manager

SAFE, DATA, BLOCKED = "safe", "data", "blocked"


@dataclass(frozen=True)
class OpsContext:
    """What an operation applies against: the transaction, alembic's operations on it, and the compiled
    form (its tables by name and its fields by id) the plan leads to."""

    conn: Connection
    ops: Operations
    compiled: CompiledForm
    tables: Mapping[str, sa.Table]
    fields: Mapping[str, FieldSpec]

    @classmethod
    def of(cls, conn: Connection, compiled: CompiledForm) -> "OpsContext":
        """The context for applying a plan that leads to ``compiled`` inside ``conn``'s transaction."""
        fields = {f.id: f for f in compiled.definition.fields}
        for f in compiled.definition.table_fields:
            fields.update({c.id: c for c in f.children})
        return cls(conn, Operations(MigrationContext.configure(conn)), compiled,
                   {t.name: t for t in (compiled.main, *compiled.children.values())}, fields)


@dataclass
class Operation:
    """One step of a plan. ``zh``/``en`` are the readable lines shown to the user; ``detail`` is what
    the step needs to run (and what the API shows)."""

    kind: ClassVar[str] = ""
    zh: str
    en: str
    safety: str = SAFE
    table: str | None = None
    field_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "safety": self.safety, "table": self.table, "field_id": self.field_id,
                "message": {"zh-CN": self.zh, "en": self.en}, "detail": self.detail}

    def describe(self, lang: str = "zh-CN") -> str:
        """The readable line in ``lang`` (zh-CN or en)."""
        return self.zh if lang == "zh-CN" else self.en

    def apply(self, ctx: OpsContext) -> None:
        """Run the step in ``ctx``'s transaction."""
        raise NotImplementedError

    def reverse(self) -> "Operation":
        """The inverse step, to be applied against the form's previous version."""
        raise NotImplementedError

    def _inverse(self, cls: type["Operation"], zh: str, en: str, **changes: Any) -> "Operation":
        return cls(zh, en, changes.pop("safety", self.safety), changes.pop("table", self.table),
                   changes.pop("field_id", self.field_id), changes.pop("detail", dict(self.detail)))


class Blocked(Operation):
    """A step the planner refuses (moving a field between tables, requiring a field nobody filled):
    it never runs, so its inverse is itself."""

    def apply(self, ctx: OpsContext) -> None:
        raise Conflict(self.zh, self.en)

    def reverse(self) -> Operation:
        return self


class MoveField(Blocked):
    kind = "move_field"


class RequireField(Blocked):
    kind = "require_field"


class CreateTable(Operation):
    kind = "create_table"

    def apply(self, ctx: OpsContext) -> None:
        table = ctx.tables[self.table]
        ctx.conn.execute(CreateTableDDL(table))
        # a child table's (parent_id, seq) index is the table's own, not one of the plan's index steps
        planned = {ix.name for ix in ctx.compiled.indexes}
        for ix in table.indexes:
            if ix.name not in planned:
                ctx.conn.execute(CreateIndexDDL(ix, if_not_exists=True))

    def reverse(self) -> Operation:
        return self._inverse(DropTable, f"删除表 {self.table}（数据一并删除）", f"drop table {self.table} (its data is lost)")


class DropTable(Operation):
    """Only produced as the inverse of :class:`CreateTable`; its own inverse recreates an empty table."""

    kind = "drop_table"

    def apply(self, ctx: OpsContext) -> None:
        ctx.ops.drop_table(self.table)

    def reverse(self) -> Operation:
        return self._inverse(CreateTable, f"新建表 {self.table}", f"create table {self.table}")


class _RenameTable(Operation):
    """Renames ``table`` to ``detail["to"]`` (data kept)."""

    def apply(self, ctx: OpsContext) -> None:
        ctx.ops.rename_table(self.table, self.detail["to"])

    def reverse(self) -> Operation:
        to = self.detail["to"]
        return self._inverse(RenameTable, f"表改名 {to} → {self.table}（数据保留）",
                             f"rename table {to} -> {self.table} (data kept)", table=to,
                             detail={**self.detail, "to": self.table})


class RetireTable(_RenameTable):
    kind = "retire_table"


class RestoreTable(_RenameTable):
    kind = "restore_table"


class RenameTable(_RenameTable):
    kind = "rename_table"


class _RenameColumn(Operation):
    """Renames column ``detail["from"]`` of ``table`` to ``detail["to"]`` (data kept)."""

    def apply(self, ctx: OpsContext) -> None:
        ctx.ops.alter_column(self.table, self.detail["from"], new_column_name=self.detail["to"])

    def reverse(self) -> Operation:
        a, b = self.detail["from"], self.detail["to"]
        return self._inverse(RenameColumn, f"列改名 {b} → {a}（数据保留）", f"rename column {b} -> {a} (data kept)",
                             detail={**self.detail, "from": b, "to": a})


class RetireColumn(_RenameColumn):
    kind = "retire_column"


class RestoreColumn(_RenameColumn):
    kind = "restore_column"


class RenameColumn(_RenameColumn):
    kind = "rename_column"


class AddColumn(Operation):
    """Adds the field's column, then fills existing rows (``detail["backfill"]``) or computes its
    formula for them (``detail["recompute"]``)."""

    kind = "add_column"

    def apply(self, ctx: OpsContext) -> None:
        f = ctx.fields[self.field_id]
        col = field_column(f)
        if ctx.conn.dialect.name == "sqlite" and col.foreign_keys:
            col = sa.Column(col.name, col.type, nullable=True)  # SQLite cannot ALTER in a constraint
        ctx.ops.add_column(self.table, col)
        if "backfill" in self.detail:
            columndata.backfill(ctx.conn, self.table, f, self.detail["backfill"], only_null=False)
        if self.detail.get("recompute"):
            columndata.recompute(ctx.conn, self.table, f, ctx.compiled)

    def reverse(self) -> Operation:
        column = self.detail.get("column", "")
        return self._inverse(DropColumn, f"删除列 {self.table}.{column}（数据一并删除）",
                             f"drop column {self.table}.{column} (its data is lost)", detail={"column": column})


class DropColumn(Operation):
    """Only produced as the inverse of :class:`AddColumn`; its own inverse adds the column back, empty."""

    kind = "drop_column"

    def apply(self, ctx: OpsContext) -> None:
        ctx.ops.drop_column(self.table, self.detail["column"])

    def reverse(self) -> Operation:
        column = self.detail["column"]
        return self._inverse(AddColumn, f"新增列 {self.table}.{column}（空值）", f"add column {self.table}.{column} (empty)")


class Backfill(Operation):
    """Fills empty values of an existing column (a field that became required)."""

    kind = "backfill"

    def apply(self, ctx: OpsContext) -> None:
        columndata.backfill(ctx.conn, self.table, ctx.fields[self.field_id], self.detail["backfill"],
                            only_null=bool(self.detail.get("only_null")))

    def reverse(self) -> Operation:
        return self._inverse(UpdateMetadata, "保留已填入的值（不改表结构）", "filled values are kept (no schema change)",
                             detail={"changes": []})


@dataclass
class ConvertColumn(Operation):
    """Changes a column's type through a shadow column, converting every row (all or nothing).
    ``field_raw`` is the target field's definition (kept for the inverse; not shown)."""

    kind = "convert_column"
    field_raw: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)

    def apply(self, ctx: OpsContext) -> None:
        target = ctx.fields[self.field_id]
        columndata.convert(ctx.conn, ctx.ops, self.table, self.detail, target)

    def reverse(self) -> Operation:
        d = self.detail
        back = ConvertColumn(f"字段 {d['column']} 类型 {d['to']} → {d['from']}，转换已有数据",
                             f"change type of {d['column']} {d['to']} -> {d['from']}, converting existing data",
                             self.safety, self.table, self.field_id,
                             {"column": d["column"], "from": d["to"], "to": d["from"], "old_field": self.field_raw},
                             field_raw=d.get("old_field"))
        return back


class CreateIndex(Operation):
    kind = "create_index"

    def apply(self, ctx: OpsContext) -> None:
        idx = next(i for t in ctx.tables.values() for i in t.indexes if i.name == self.detail["name"])
        idx.create(ctx.conn)

    def reverse(self) -> Operation:
        return self._inverse(DropIndex, f"删除索引 {self.detail['name']}", f"drop index {self.detail['name']}", safety=SAFE)


class DropIndex(Operation):
    kind = "drop_index"

    def apply(self, ctx: OpsContext) -> None:
        ctx.ops.drop_index(self.detail["name"], table_name=self.table)

    def reverse(self) -> Operation:
        return self._inverse(CreateIndex, f"新建索引 {self.detail['name']}", f"create index {self.detail['name']}")


class UpdateMetadata(Operation):
    """A change of the definition alone (labels, rules, permissions …): nothing to run."""

    kind = "update_metadata"

    def apply(self, ctx: OpsContext) -> None:
        return None

    def reverse(self) -> Operation:
        return self


BUILTIN: tuple[type[Operation], ...] = (
    CreateTable, DropTable, RetireTable, RestoreTable, RenameTable, RetireColumn, RestoreColumn, RenameColumn,
    AddColumn, DropColumn, Backfill, ConvertColumn, CreateIndex, DropIndex, UpdateMetadata, MoveField, RequireField)


@hookimpl
def mom_plan_operations() -> tuple[type[Operation], ...]:
    """The core's operation kinds."""
    return BUILTIN


def kinds_of(pm: Any) -> dict[str, type[Operation]]:
    """Operation classes by kind from a plug-in manager's ``mom_plan_operations`` (a later plug-in's
    class for a kind replaces an earlier one)."""
    out: dict[str, type[Operation]] = {}
    for group in reversed(pm.hook.mom_plan_operations()):   # pluggy calls the last registered first
        out.update({cls.kind: cls for cls in group})
    return out


@cache
def registry() -> Mapping[str, type[Operation]]:
    """The process's operation kinds (resolved on first use)."""
    return kinds_of(plugin_manager())   # on first use: the manager imports the core plug-ins then


def make(kind: str, zh: str, en: str, safety: str = SAFE, table: str | None = None, field_id: str | None = None,
         detail: dict[str, Any] | None = None, **extra: Any) -> Operation:
    """An operation of ``kind`` (``ValueError`` if no plug-in provides it)."""
    cls = registry().get(kind)
    if cls is None:
        raise ValueError(f"unknown plan operation {kind}")
    return cls(zh, en, safety, table, field_id, detail if detail is not None else {}, **extra)


def reverse_all(operations: Iterable[Operation]) -> list[Operation]:
    """The inverse of a sequence of steps: each step's inverse, last step first."""
    return [op.reverse() for op in reversed(list(operations))]
