"""Compile a validated ``FormDefinition`` into a frozen ``CompiledForm``: SQLAlchemy ``Table``
objects for the main table and each child table, plus the indexes the definition implies.

Pure: no database access. Table names are the form name (main) and ``<form>__<table key>``
(children); column names are field keys. Names come only from validated keys.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from functools import cached_property
from typing import Any

import sqlalchemy as sa

from mom.engines.forms import fieldtypes
from mom.engines.forms.model import MAIN, FieldSpec, FormDefinition
from mom.platform.db.types import UTCDateTime

ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


@dataclass(frozen=True)
class IndexPlan:
    name: str
    table: str          # MAIN or the table field's id
    field_ids: tuple[str, ...]
    unique: bool

    def as_dict(self) -> dict[str, object]:
        return {"table": self.table, "fields": list(self.field_ids), "unique": self.unique}


@dataclass(frozen=True)
class CompiledForm:
    definition: FormDefinition
    version: int
    main: sa.Table
    children: dict[str, sa.Table]          # table field key -> Table
    indexes: tuple[IndexPlan, ...]

    @property
    def name(self) -> str:
        return self.definition.name

    @cached_property
    def memo(self) -> dict[Any, Any]:
        """Statements and helpers built once per published version (e.g. the audit INSERT … SELECT)."""
        return {}

    def table_for(self, table_id: str) -> sa.Table:
        if table_id == MAIN:
            return self.main
        f = next(f for f in self.definition.table_fields if f.id == table_id)
        return self.children[f.key]


def child_table_name(form: str, key: str) -> str:
    return f"{form}__{key}"


def index_name(table: str, field_ids: tuple[str, ...], unique: bool) -> str:
    digest = hashlib.sha1(("u:" if unique else "i:") .encode() + ",".join(field_ids).encode()).hexdigest()[:10]
    return f"{'ux' if unique else 'ix'}_{table[:40]}_{digest}"


def field_column(f: FieldSpec, *, column_name: str | None = None) -> sa.Column:
    fk = fieldtypes.foreign_key(f)
    args = [fk] if fk is not None else []
    return sa.Column(column_name or f.key, fieldtypes.column_type(f), *args, nullable=True)


def system_columns() -> list[sa.Column]:
    return [
        sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
        sa.Column("row_version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("form_version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("mom_user.id"), nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("updated_by", sa.Integer, sa.ForeignKey("mom_user.id"), nullable=True),
        sa.Column("department_id", sa.Integer, sa.ForeignKey("mom_department.id"), nullable=True),
        sa.Column("deleted_at", UTCDateTime, nullable=True),
    ]


def child_system_columns(parent: str) -> list[sa.Column]:
    return [
        sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
        sa.Column("parent_id", ID_TYPE, sa.ForeignKey(f"{parent}.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
    ]


def desired_indexes(defn: FormDefinition) -> tuple[IndexPlan, ...]:
    """Indexes implied by the definition: declared ones, unique fields, autonumbers, references."""
    by_key = {f.key: f for f in defn.scalar_fields}
    seen: dict[tuple[str, tuple[str, ...], bool], IndexPlan] = {}

    def add(table: str, table_name: str, ids: tuple[str, ...], unique: bool) -> None:
        k = (table, ids, unique)
        if k not in seen:
            seen[k] = IndexPlan(index_name(table_name, ids, unique), table, ids, unique)

    for ix in defn.indexes:
        add(MAIN, defn.name, tuple(by_key[k].id for k in ix.fields), ix.unique)
    for f in defn.scalar_fields:
        ft = fieldtypes.type_of(f)
        if f.unique or (ft is not None and ft.generated):
            add(MAIN, defn.name, (f.id,), True)
        elif ft is not None and ft.index_main:
            add(MAIN, defn.name, (f.id,), False)
    for t in defn.table_fields:
        for c in t.children:
            if (ct := fieldtypes.type_of(c)) is not None and ct.index_child:
                add(t.id, child_table_name(defn.name, t.key), (c.id,), False)
    return tuple(seen.values())


def compile_form(defn: FormDefinition, version: int = 0, *, metadata: sa.MetaData | None = None) -> CompiledForm:
    md = metadata if metadata is not None else sa.MetaData()
    _stub_platform_tables(md)
    for target in defn.references:
        if target not in md.tables:
            sa.Table(target, md, sa.Column("id", ID_TYPE, primary_key=True))
    main = sa.Table(defn.name, md, *system_columns(), *[field_column(f) for f in defn.scalar_fields])
    children = {}
    for t in defn.table_fields:
        children[t.key] = sa.Table(child_table_name(defn.name, t.key), md, *child_system_columns(defn.name),
                                   *[field_column(c) for c in t.children])
    indexes = desired_indexes(defn)
    by_id = {f.id: f.key for f in defn.scalar_fields}
    for t in defn.table_fields:
        by_id.update({c.id: c.key for c in t.children})
    for ix in indexes:
        table = main if ix.table == MAIN else children[next(t.key for t in defn.table_fields if t.id == ix.table)]
        cols = [table.c[by_id[i]] for i in ix.field_ids]
        kw = {}
        if ix.unique and ix.table == MAIN:
            kw = {"sqlite_where": main.c.deleted_at.is_(None), "postgresql_where": main.c.deleted_at.is_(None)}
        sa.Index(ix.name, *cols, unique=ix.unique, **kw)
    for table in children.values():
        sa.Index(index_name(table.name, ("parent_id", "seq"), False), table.c.parent_id, table.c.seq)
    return CompiledForm(definition=defn, version=version, main=main, children=children, indexes=indexes)


def _stub_platform_tables(md: sa.MetaData) -> None:
    for name in ("mom_user", "mom_department"):
        if name not in md.tables:
            sa.Table(name, md, sa.Column("id", sa.Integer, primary_key=True))
