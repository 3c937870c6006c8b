"""The physical state of a form: which tables, columns and indexes exist in the database for it,
including retired ones. Stored as JSON on ``mom_form.physical``; planning diffs against it.

Shape::

    {"tables":  {"_main" | <table field id>: {"name": str, "retired": bool}},
     "columns": {<field id>: {"table": str, "column": str, "key": str, "type": str, "sig": str,
                              "retired": bool, "field": {...definition of the field...}}},
     "indexes": {<index name>: {"table": str, "fields": [field ids], "unique": bool}}}
"""
from __future__ import annotations

import copy
from typing import Any

from mom.engines.forms import fieldtypes
from mom.engines.forms.compile import CompiledForm, child_table_name
from mom.engines.forms.model import MAIN

Physical = dict[str, Any]


def empty() -> Physical:
    return {"tables": {}, "columns": {}, "indexes": {}}


def retired_column_name(field_id: str) -> str:
    return f"_r_{field_id.lower()}"


def retired_table_name(form: str, field_id: str) -> str:
    return f"_r_{form}_{field_id.lower()}"


def of_compiled(compiled: CompiledForm, previous: Physical | None = None) -> Physical:
    """The physical state after ``compiled`` has been applied (retired items carried over)."""
    defn = compiled.definition
    out = empty() if previous is None else copy.deepcopy(previous)
    active_tables = {MAIN: defn.name} | {t.id: child_table_name(defn.name, t.key) for t in defn.table_fields}
    for tid, meta in out["tables"].items():
        if tid not in active_tables and not meta.get("retired"):
            meta["retired"] = True
            meta["name"] = retired_table_name(defn.name, tid)
    for tid, name in active_tables.items():
        out["tables"][tid] = {"name": name, "retired": False}
    active = {}
    for f in defn.scalar_fields:
        active[f.id] = (MAIN, f)
    for t in defn.table_fields:
        for c in t.children:
            active[c.id] = (t.id, c)
    for fid, meta in out["columns"].items():
        if fid not in active and not meta.get("retired"):
            meta["retired"] = True
            if meta["table"] in active_tables:  # a column of a retired table keeps its name
                meta["column"] = retired_column_name(fid)
    for fid, (tid, f) in active.items():
        out["columns"][fid] = {"table": tid, "column": f.key, "key": f.key, "type": f.value_type,
                               "sig": fieldtypes.type_sig(f), "retired": False, "field": dict(f.raw)}
    out["indexes"] = {ix.name: ix.as_dict() for ix in compiled.indexes}
    return out
