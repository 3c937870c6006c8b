"""Plan: the readable list of operations that takes the database from the published version of a
form to a new definition. Nothing here writes; data checks (conversions, duplicates, required
fields) read the live tables so that a plan that would lose or break data is marked ``blocked``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms import fieldtypes, physical
from mom.engines.forms.compile import CompiledForm, child_table_name
from mom.engines.forms.convert import check_conversion, check_duplicates, count_rows, count_nulls
from mom.engines.forms.model import MAIN, FieldSpec, FormDefinition
from mom.engines.forms.operations import BLOCKED, DATA, SAFE, Operation, make

META_IGNORED = ("id", "key")


@dataclass
class Plan:
    form: str
    from_version: int | None
    to_version: int
    operations: list[Operation]
    unchanged: bool = False

    @property
    def blocked(self) -> bool:
        return any(op.safety == BLOCKED for op in self.operations)

    def as_dict(self) -> dict[str, Any]:
        return {"form": self.form, "from_version": self.from_version, "to_version": self.to_version,
                "unchanged": self.unchanged, "blocked": self.blocked,
                "operations": [op.as_dict() for op in self.operations]}

    def describe(self, lang: str = "zh-CN") -> str:
        if self.unchanged:
            return f"{self.form}: 无变化 / unchanged (v{self.from_version})"
        head = f"{self.form}: v{self.from_version or 0} -> v{self.to_version}"
        marks = {SAFE: "+", DATA: "~", BLOCKED: "!"}
        lines = [head] + [f"  {marks[o.safety]} {o.describe(lang)}" for o in self.operations]
        return "\n".join(lines)


def _label(f: FieldSpec) -> str:
    return f"{f.label['zh-CN']}({f.key})"


def build_plan(conn: Connection | None, new: CompiledForm, current: tuple[FormDefinition, int, dict] | None) -> Plan:
    """Diff ``new`` against the current published definition and physical state."""
    defn = new.definition
    if current is None:
        return _plan_create(conn, new)
    old, version, phys = current
    if old.hash == defn.hash:
        return Plan(defn.name, version, version, [], unchanged=True)
    ops = _plan_change(conn, new, old, phys)
    return Plan(defn.name, version, version + 1, ops)


def _plan_create(conn: Connection | None, new: CompiledForm) -> Plan:
    defn = new.definition
    ops = []
    tables = [new.main, *new.children.values()]
    for t in tables:
        exists = conn is not None and sa.inspect(conn).has_table(t.name)
        cols = ", ".join(c.name for c in t.columns)
        if exists:
            ops.append(make("create_table", f"表 {t.name} 已存在于数据库，但不属于任何已发布表单；请改名或先清理",
                                 f"table {t.name} already exists in the database but belongs to no published form; rename the form or clean up",
                                 BLOCKED, t.name))
        else:
            ops.append(make("create_table", f"新建表 {t.name}（{cols}）", f"create table {t.name} ({cols})", SAFE, t.name))
    for ix in new.indexes:
        ops.append(_index_op("create_index", ix.name, ix.as_dict(), new))
    return Plan(defn.name, None, 1, ops)


def _index_op(kind: str, name: str, meta: Mapping[str, Any], new: CompiledForm | None) -> Operation:
    u = "唯一" if meta.get("unique") else ""
    verb_zh, verb_en = ("新建", "create") if kind == "create_index" else ("删除", "drop")
    return make(kind, f"{verb_zh}{u}索引 {name}", f"{verb_en} {'unique ' if meta.get('unique') else ''}index {name}",
                     SAFE, None, None, {"name": name, **meta})


def _plan_change(conn: Connection | None, new: CompiledForm, old: FormDefinition, phys: dict) -> list[Operation]:
    defn = new.definition
    ops: list[Operation] = []
    ptables, pcols, pidx = phys["tables"], phys["columns"], phys["indexes"]
    main_name = ptables[MAIN]["name"]
    rows = count_rows(conn, main_name) if conn is not None else 0
    new_tables = {t.id: t for t in defn.table_fields}
    created_tables: set[str] = set()
    converted: set[str] = set()
    tail: list[Operation] = []
    # child tables
    for tid, meta in ptables.items():
        if tid != MAIN and not meta.get("retired") and tid not in new_tables:
            ops.append(make("retire_table", f"停用子表 {meta['name']}（数据保留，可恢复）",
                                 f"retire child table {meta['name']} (data kept, restorable)", SAFE, meta["name"], tid,
                                 {"to": physical.retired_table_name(defn.name, tid)}))
    for tid, t in new_tables.items():
        name = child_table_name(defn.name, t.key)
        meta = ptables.get(tid)
        if meta is None:
            created_tables.add(tid)
            ops.append(make("create_table", f"新建子表 {name}（{_label(t)}）", f"create child table {name} ({t.key})",
                                 SAFE, name, tid))
        elif meta.get("retired"):
            ops.append(make("restore_table", f"恢复子表 {name}（{_label(t)}）及其数据", f"restore child table {name} with its data",
                                 SAFE, meta["name"], tid, {"to": name}))
        elif meta["name"] != name:
            ops.append(make("rename_table", f"子表改名 {meta['name']} → {name}（数据保留）",
                                 f"rename child table {meta['name']} -> {name} (data kept)", SAFE, meta["name"], tid, {"to": name}))
    # columns
    active: dict[str, tuple[str, FieldSpec]] = {f.id: (MAIN, f) for f in defn.scalar_fields}
    for tid, t in new_tables.items():
        if tid not in created_tables:
            active.update({c.id: (tid, c) for c in t.children})
    table_name = {MAIN: defn.name} | {tid: child_table_name(defn.name, t.key) for tid, t in new_tables.items()}
    for fid, meta in pcols.items():
        if fid not in active and not meta.get("retired") and meta["table"] in table_name and meta["table"] not in created_tables:
            tname = table_name[meta["table"]]
            ops.append(make("retire_column", f"停用字段 {meta['key']}（列改名为 {physical.retired_column_name(fid)}，数据保留，可恢复）",
                                 f"retire field {meta['key']} (column renamed to {physical.retired_column_name(fid)}; data kept, restorable)",
                                 SAFE, tname, fid, {"from": meta["column"], "to": physical.retired_column_name(fid),
                                                    "rows": rows if meta["table"] == MAIN else None}))
    renames: list[Operation] = []
    for fid, (tid, f) in active.items():
        tname = table_name[tid]
        meta = pcols.get(fid)
        if meta is not None and meta["table"] != tid:
            ops.append(make("move_field", f"字段 {f.key} 不能在主表和子表之间移动；请新建字段", 
                                 f"field {f.key} cannot move between the main table and a child table; add a new field instead",
                                 BLOCKED, tname, fid))
            continue
        if meta is None:
            ops.append(_add_column(conn, tname, f, rows if tid == MAIN else 0))
            continue
        if meta.get("retired"):
            ops.append(make("restore_column", f"恢复字段 {_label(f)}（{meta['column']} → {f.key}，数据恢复）",
                                 f"restore field {f.key} ({meta['column']} -> {f.key}; data back)", SAFE, tname, fid,
                                 {"from": meta["column"], "to": f.key}))
        elif meta["column"] != f.key:
            renames.append(make("rename_column", f"字段改名 {meta['column']} → {f.key}（列改名，数据保留）",
                                     f"rename field {meta['column']} -> {f.key} (column renamed, data kept)", SAFE, tname, fid,
                                     {"from": meta["column"], "to": f.key}))
        if meta["sig"] != fieldtypes.type_sig(f):
            converted.add(fid)
            tail.append(_convert(conn, tname, meta, f))
        elif f.required and not meta.get("field", {}).get("required") and conn is not None:
            tail.extend(_require_existing(conn, tname, f, meta))
    ops.extend(_order_renames(renames, pcols))
    # indexes: drop what is no longer wanted (or touches a converted column), create what is missing
    desired = {ix.name: ix for ix in new.indexes}
    drops = [n for n, m in pidx.items() if n not in desired or set(m["fields"]) & converted]
    first = [_index_op("drop_index", n, pidx[n], None) for n in drops]
    for op in first:
        op.table = ptables.get(pidx[op.detail["name"]]["table"], {}).get("name")
    for name, ix in desired.items():
        if name not in pidx or name in drops:
            op = _index_op("create_index", name, ix.as_dict(), new)
            op.table = table_name.get(ix.table)
            if ix.unique and conn is not None and ix.table not in created_tables and _all_exist(ix.field_ids, pcols):
                dup = check_duplicates(conn, op.table, [_current_col(pcols[i]) for i in ix.field_ids])
                if dup:
                    op.safety = BLOCKED
                    op.zh += f"：已有重复值，记录 id {dup}；请先修正这些记录"
                    op.en += f": duplicate values exist in records {dup}; fix them first"
                    op.detail["duplicate_ids"] = dup
            tail.append(op)
    meta_op = _metadata_changes(old, defn)
    return first + ops + tail + ([meta_op] if meta_op else [])


def _all_exist(ids: tuple[str, ...], pcols: dict) -> bool:
    return all(i in pcols for i in ids)


def _current_col(meta: Mapping[str, Any]) -> str:
    return meta["key"] if not meta.get("retired") else meta["column"]


def _order_renames(renames: list[Operation], pcols: dict) -> list[Operation]:
    """Renames whose target name is taken by another renamed column go through a temporary name."""
    sources = {op.detail["from"] for op in renames}
    if not any(op.detail["to"] in sources for op in renames):
        return renames
    out = []
    for op in renames:
        tmp = f"_t_{op.field_id.lower()}"
        out.append(make("rename_column", op.zh, op.en, SAFE, op.table, op.field_id, {"from": op.detail["from"], "to": tmp}))
    for op in renames:
        tmp = f"_t_{op.field_id.lower()}"
        out.append(make("rename_column", op.zh, op.en, SAFE, op.table, op.field_id, {"from": tmp, "to": op.detail["to"]}))
    return out


def _backfill_value(f: FieldSpec) -> tuple[str, Any] | None:
    b = f.raw.get("backfill")
    if isinstance(b, Mapping) and "expr" in b:
        return ("expr", b["expr"])
    if b is not None:
        return ("value", b)
    d = f.raw.get("default")
    if d is not None and not isinstance(d, Mapping):
        return ("value", d)
    return None


def _add_column(conn: Connection | None, tname: str, f: FieldSpec, rows: int) -> Operation:
    op = make("add_column", f"新增字段 {_label(f)}（{fieldtypes.type_sig(f)}）", f"add field {f.key} ({fieldtypes.type_sig(f)})",
                   SAFE, tname, f.id, {"column": f.key})
    fill = _backfill_value(f)
    if rows and fill is not None and not f.computed:
        kind, value = fill
        if kind == "value":
            try:
                fieldtypes.coerce(f, value)
            except fieldtypes.FieldError as exc:
                return make("add_column", f"字段 {_label(f)} 的默认值无效：{exc.zh}", f"the default of {f.key} is invalid: {exc.en}",
                                 BLOCKED, tname, f.id, {"invalid": {"zh-CN": exc.zh, "en": exc.en}})
        op.safety = DATA
        op.detail["backfill"] = {kind: value}
        op.zh += f"，为已有 {rows} 条记录填入 {value}"
        op.en += f", filling {rows} existing records with {value}"
    elif rows and f.computed:
        op.safety = DATA
        op.detail["recompute"] = True
        op.zh += f"，为已有 {rows} 条记录计算公式"
        op.en += f", computing the formula for {rows} existing records"
    elif rows and f.required:
        op.safety = BLOCKED
        op.detail["rows"] = rows
        op.zh = f"必填字段 {_label(f)} 不能直接加到已有 {rows} 条记录的表单：请先给它一个默认值（default），或先不设为必填"
        op.en = (f"required field {f.key} cannot be added to a form with {rows} records: give it a default or a "
                 "backfill (a value or {\"expr\": ...})")
    return op


def _require_existing(conn: Connection, tname: str, f: FieldSpec, meta: Mapping[str, Any]) -> list[Operation]:
    nulls = count_nulls(conn, tname, meta["column"])
    if not nulls:
        return []
    fill = _backfill_value(f)
    if fill is None:
        return [make("require_field", f"字段 {_label(f)} 改为必填，但有 {nulls} 条记录为空：请设置 backfill",
                          f"field {f.key} becomes required but {nulls} records are empty: give it a backfill",
                          BLOCKED, tname, f.id, {"rows": nulls})]
    kind, value = fill
    return [make("backfill", f"为字段 {_label(f)} 的 {nulls} 条空记录填入 {value}",
                      f"fill {nulls} empty records of {f.key} with {value}", DATA, tname, f.id,
                      {"column": f.key, "backfill": {kind: value}, "only_null": True})]


def _convert(conn: Connection | None, tname: str, meta: Mapping[str, Any], f: FieldSpec) -> Operation:
    old_sig, new_sig = meta["sig"], fieldtypes.type_sig(f)
    op = make("convert_column", f"字段 {_label(f)} 类型 {old_sig} → {new_sig}，转换已有数据",
                   f"change type of {f.key} {old_sig} -> {new_sig}, converting existing data", DATA, tname, f.id,
                   {"column": f.key, "from": old_sig, "to": new_sig, "old_field": meta.get("field")}, field_raw=dict(f.raw))
    old_type, new_type = fieldtypes.field_type(meta["type"]), fieldtypes.type_of(f)
    if (old_type is not None and old_type.is_id) or (new_type is not None and new_type.is_id and meta["type"] != "integer"):
        op.safety = BLOCKED
        op.zh = f"字段 {f.key} 从 {old_sig} 改为 {new_sig} 不支持（引用类字段不能转换）；请新增一个字段"
        op.en = f"changing {f.key} from {old_sig} to {new_sig} is not supported (reference-like fields); add a new field instead"
        return op
    if conn is not None:
        failures, total = check_conversion(conn, tname, meta["column"], meta.get("field") or {}, f)
        if failures:
            ids = [i for i, _ in failures[:20]]
            op.safety = BLOCKED
            op.detail["failed_ids"] = ids
            op.detail["failed_count"] = total
            first = failures[0][1]
            op.zh += f"：{total} 条记录无法转换（id {ids}；例：{first.zh}）。请先修正这些记录"
            op.en += f": {total} records do not convert (ids {ids}; e.g. {first.en}). Fix them first"
    return op


def _metadata_changes(old: FormDefinition, new: FormDefinition) -> Operation | None:
    changes: list[str] = []
    if dict(old.label) != dict(new.label):
        changes.append("label")
    old_f = {f.id: f for f in _all_fields(old)}
    for f in _all_fields(new):
        o = old_f.get(f.id)
        if o is None:
            continue
        props = sorted(k for k in set(o.raw) | set(f.raw) if k not in META_IGNORED and k != "fields"
                       and o.raw.get(k) != f.raw.get(k))
        if props:
            changes.append(f"{f.key}: {', '.join(props)}")
    for part in ("rules", "permissions", "display_field", "ui", "description"):
        if old.raw.get(part) != new.raw.get(part):
            changes.append(part)
    if not changes:
        return None
    text = "; ".join(changes)
    return make("update_metadata", f"更新定义（不改表结构）：{text}", f"update definition (no schema change): {text}",
                     SAFE, new.name, None, {"changes": changes})


def _all_fields(d: FormDefinition) -> list[FieldSpec]:
    out = []
    for f in d.fields:
        out.append(f)
        out.extend(f.children)
    return out
