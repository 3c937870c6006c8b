"""Validate a form definition (``mom.form/1``) and build the frozen ``FormDefinition``.

Every problem is reported at once, each with a JSON pointer into the definition.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from mom.engines.definitions.expressions import expression_at
from mom.engines.definitions.identity import definition_hash
from mom.engines.definitions.jsonschema import load_schema, schema_problems
from mom.engines.expressions.sandbox import Expression, compile_expression
from mom.engines.expressions.scope import scope_problem
from mom.engines.expressions.strictness import publishing
from mom.engines.forms import fieldtypes
from mom.engines.forms.states import compile_state_machine
from mom.engines.forms.model import (CHILD_SYSTEM_COLUMNS, FORMAT, SYSTEM_COLUMNS, FieldSpec, FormDefinition,
                                     IndexSpec, RuleSpec, text_of)
from mom.platform.errors import InvalidInput, ProblemList, did_you_mean

SCHEMA_PATH = Path(__file__).parent / "schema" / "form-1.json"
SQL_RESERVED = frozenset("""all alter and any as asc between by case cast check column constraint create cross
current_date current_time current_timestamp current_user default delete desc distinct do drop else end except
exists false fetch for foreign from full grant group having in index inner insert intersect into is join key
leading left like limit natural not null offset on or order outer primary references right row rows select
session_user set some table then to trailing true union unique update user using values view when where with
window analyse analyze both collate deferrable initially lateral only placing returning symmetric
variadic""".split())
EXTRA_NAMES = ("current_user", "current_department")
# A form's name is its table's name: names the platform's own tables (mom_user …), the databases'
# internal ones (sqlite_…, pg_…), the migration table or a child table (form__table) use are refused.
RESERVED_FORM_PREFIXES = ("mom_", "sqlite_", "pg_", "alembic")


def form_name_problem(name: str) -> tuple[str, str] | None:
    """Why ``name`` cannot be a form's name (zh, en with a hint), or None."""
    if name.startswith(RESERVED_FORM_PREFIXES):
        prefix = next(p for p in RESERVED_FORM_PREFIXES if name.startswith(p))
        other = name.removeprefix(prefix).strip("_") or "form"
        other = f"{other}_info" if other in SQL_RESERVED or other.startswith(RESERVED_FORM_PREFIXES) else other
        return (f"表单名 {name} 以保留前缀 {prefix} 开头（平台与数据库自身的表用它）；请换一个，如 {other}",
                f"the form name {name} starts with the reserved prefix {prefix} (the platform's and the database's own "
                f"tables use it); choose another, e.g. {other}")
    if "__" in name:
        return (f"表单名 {name} 不能含有连续两个下划线（子表用 表单__子表 命名）；请换一个，如 {name.replace('__', '_')}",
                f"the form name {name} cannot contain a double underscore (child tables are named form__table); "
                f"choose another, e.g. {name.replace('__', '_')}")
    if name in SQL_RESERVED or name in EXTRA_NAMES:
        return (f"表单名 {name} 是 SQL 保留字；请换一个，如 {name}_list",
                f"the form name {name} is an SQL reserved word; choose another, e.g. {name}_list")
    return None


def form_schema() -> dict[str, Any]:
    """The form meta-schema (``mom.form/1``) naming every registered field type and its options."""
    return fieldtypes.form_schema(load_schema(SCHEMA_PATH))


def _check_number(value: Any, path: str, problems: ProblemList) -> Decimal | None:
    try:
        d = None if isinstance(value, bool) else Decimal(str(value).strip())
    except InvalidOperation:
        d = None
    if d is None or not d.is_finite():
        problems.add(path, f"{value!r} 不是数字", f"{value!r} is not a number", "type")
        return None
    return d


def _number_problems(f: Mapping[str, Any], t: Any, ft: Any, path: str, problems: ProblemList) -> None:
    """min and max of a number field (a formula's: of its number result) are numbers, min <= max;
    precision and scale are whole numbers (5.0 is refused, not read as 5)."""
    value_ft = fieldtypes.field_type(str(f.get("result_type", "decimal"))) if t == "formula" else ft
    lo, hi = f.get("min"), f.get("max")
    # each alone is checked on publish; a stored definition (older rules) is refused only for both
    if value_ft is not None and value_ft.family == "number" and (publishing() or (lo is not None and hi is not None)):
        a = _check_number(lo, f"{path}/min", problems) if lo is not None else None
        b = _check_number(hi, f"{path}/max", problems) if hi is not None else None
        if a is not None and b is not None and a > b:
            problems.add(f"{path}/min", "最小值大于最大值", "min is greater than max", "range")
    if publishing():
        for name in ("precision", "scale"):
            if isinstance(f.get(name), float):
                problems.add(f"{path}/{name}", f"{name} 应为整数（写 {int(f[name])}，不写 {f[name]}）"
                             if f[name].is_integer() else f"{name} 应为整数",
                             f"{name} must be a whole number (write {int(f[name])}, not {f[name]})"
                             if f[name].is_integer() else f"{name} must be a whole number", "type")


def _field_problems(f: Mapping[str, Any], path: str, problems: ProblemList, *, form_name: str,
                    sibling_keys: set[str], in_child: bool, known_forms: Mapping[str, Any] | None) -> None:
    t, key = f.get("type"), f.get("key")
    reserved = CHILD_SYSTEM_COLUMNS if in_child else SYSTEM_COLUMNS
    if isinstance(key, str):
        if key in reserved or key in SQL_RESERVED or key in EXTRA_NAMES or "__" in key or key == "parent":
            problems.add(f"{path}/key", f"{key} 是保留名，请换一个（如 {key}_no）",
                         f"{key} is a reserved name; choose another (e.g. {key}_no)", "reserved")
    ft = fieldtypes.field_type(t) if isinstance(t, str) else None
    if ft is not None and ft.check_definition is not None:
        ft.check_definition(f, path, problems, form_name=form_name, known_forms=known_forms)
    if t == "table":
        if in_child:
            problems.add(f"{path}/type", "子表内不能再嵌套子表", "a child table cannot contain another table", "nesting")
        if not f.get("fields"):
            problems.add(f"{path}/fields", "子表需要至少一个字段", "a table needs at least one field", "required")
        if "min_rows" in f and "max_rows" in f and f["min_rows"] > f["max_rows"]:
            problems.add(f"{path}/min_rows", "min_rows 大于 max_rows", "min_rows is greater than max_rows", "range")
    if t == "formula" and not f.get("formula"):
        problems.add(f"{path}/formula", "公式字段需要 formula 表达式", "a formula field needs a formula expression", "required")
    if isinstance(f.get("regex"), str):
        try:
            re.compile(f["regex"])
        except re.error as exc:
            problems.add(f"{path}/regex", f"正则表达式无效：{exc}", f"invalid regular expression: {exc}", "regex")
    _number_problems(f, t, ft, path, problems)
    if "min_length" in f and "max_length" in f and f["min_length"] > f["max_length"]:
        problems.add(f"{path}/min_length", "最小长度大于最大长度", "min_length is greater than max_length", "range")
    opts = [o if isinstance(o, str) else o.get("value") for o in f.get("options", []) if isinstance(o, (str, Mapping))]
    if len(opts) != len(set(opts)):
        problems.add(f"{path}/options", "选项值重复", "duplicate option values", "duplicate")
    default = f.get("default")
    if opts and default is not None and not isinstance(default, Mapping):
        values = default if isinstance(default, list) else [default]
        for v in values:
            if v not in opts:
                problems.add(f"{path}/default", f"默认值 {v!r} 不在选项中", f"default {v!r} is not one of the options", "option")


def _formula_order(fields: list[Mapping[str, Any]], exprs: dict[str, Expression], base: str,
                   problems: ProblemList) -> tuple[str, ...]:
    """Topological order of formula fields; a cycle is reported at the first field in it."""
    index = {f["key"]: i for i, f in enumerate(fields) if isinstance(f, Mapping) and isinstance(f.get("key"), str)}
    deps = {k: {n for n in e.names if n in exprs} for k, e in exprs.items()}
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(k: str, stack: list[str]) -> bool:
        if state.get(k) == 2:
            return True
        if state.get(k) == 1:
            cycle = stack[stack.index(k):] + [k]
            problems.add(f"{base}/{index[k]}/formula", f"公式循环引用：{' → '.join(cycle)}",
                         f"formula cycle: {' -> '.join(cycle)}", "cycle")
            return False
        state[k] = 1
        ok = all(visit(d, stack + [k]) for d in sorted(deps[k]))
        state[k] = 2
        order.append(k)
        return ok

    for k in sorted(exprs, key=lambda k: index[k]):
        if state.get(k) != 2 and not visit(k, []):
            break
    return tuple(order)


class MissingFieldType(InvalidInput):
    """A stored form uses a field type that no installed plug-in provides (its plug-in was removed):
    its records cannot be read or written until the plug-in is installed again or the field changed.
    ``detail``: ``{"missing": [{"path", "field", "type"}]}`` (the registry adds ``form`` and ``version``,
    and sets ``raw``: that version's stored definition, so that callers need not read it again)."""

    raw: Any = None


def missing_field_types(raw: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(JSON pointer, field key, type) of every field whose ``type`` no registered field type has."""
    known = fieldtypes.type_names(load_schema(SCHEMA_PATH))
    out: list[tuple[str, str, str]] = []

    def scan(fields: Any, base: str) -> None:
        for i, f in enumerate(fields if isinstance(fields, list) else []):
            if not isinstance(f, Mapping):
                continue
            t = f.get("type")
            if isinstance(t, str) and t not in known:
                out.append((f"{base}/{i}/type", str(f.get("key", "?")), t))
            if t == "table":
                scan(f.get("fields"), f"{base}/{i}/fields")
    scan(raw.get("fields"), "/fields")
    return out


def _raise_missing(raw: Mapping[str, Any], missing: list[tuple[str, str, str]]) -> None:
    name = raw.get("name") if isinstance(raw.get("name"), str) else "?"
    problems = ProblemList()
    for path, key, t in missing:
        problems.add(path, f"字段 {key} 的类型 {t} 来自未安装的插件；请安装该插件，或修改该字段",
                     f"field {key} has type {t} from a plug-in that is not installed; install it or change the field",
                     "plugin_missing")
    first = problems.items[0]
    more_zh = f"（另有 {len(missing) - 1} 个字段同样）" if len(missing) > 1 else ""
    more_en = f" ({len(missing) - 1} more field(s) likewise)" if len(missing) > 1 else ""
    raise MissingFieldType(f"表单 {name}：{first.zh}{more_zh}", f"form {name}: {first.en}{more_en}",
                           problems=problems.items,
                           detail={"missing": [{"path": p, "field": k, "type": t} for p, k, t in missing]})


def validate_form(raw: Any, *, known_forms: Mapping[str, Any] | None = None) -> FormDefinition:
    """Validate ``raw`` and return the frozen definition; raise ``InvalidInput`` listing every problem.

    ``known_forms`` maps form names to their raw definitions, for checking references.
    """
    problems = ProblemList()
    if not isinstance(raw, Mapping):
        raise InvalidInput("表单定义必须是 JSON 对象", "a form definition must be a JSON object",
                           problems=[])
    if not publishing() and (missing := missing_field_types(raw)):
        _raise_missing(raw, missing)   # stored under a plug-in since removed: say so, not "not one of …"
    schema_problems(raw, form_schema(), problems)
    fields = [f for f in raw.get("fields", []) if isinstance(f, Mapping)] if isinstance(raw.get("fields"), list) else []
    name = raw.get("name") if isinstance(raw.get("name"), str) else ""
    if name and publishing() and (why := form_name_problem(name)):
        problems.add("/name", why[0], why[1], "reserved")
    ids: dict[str, str] = {}
    main_keys = [f.get("key") for f in fields if isinstance(f.get("key"), str)]
    main_scalar = {f["key"] for f in fields if isinstance(f.get("key"), str) and f.get("type") != "table"}
    table_keys = {f["key"] for f in fields if isinstance(f.get("key"), str) and f.get("type") == "table"}
    exprs: dict[str, Expression] = {}
    child_orders: dict[str, tuple[str, ...]] = {}
    seen: set[str] = set()
    for i, f in enumerate(fields):
        path = f"/fields/{i}"
        _register(f, path, ids, seen, problems)
        _field_problems(f, path, problems, form_name=name, sibling_keys=set(main_keys), in_child=False,
                        known_forms=known_forms)
        known = (main_scalar | table_keys) - {f.get("key")}
        if isinstance(f.get("formula"), str) and (e := expression_at(f["formula"], known, f"{path}/formula", problems)):
            exprs[f["key"]] = e
        _default_exprs(f, path, main_scalar - {f.get("key")}, problems)
        if f.get("type") == "table" and isinstance(f.get("fields"), list):
            children = [c for c in f["fields"] if isinstance(c, Mapping)]
            ckeys = {c["key"] for c in children if isinstance(c.get("key"), str)}
            cexprs: dict[str, Expression] = {}
            cseen: set[str] = set()
            for j, c in enumerate(children):
                cpath = f"{path}/fields/{j}"
                _register(c, cpath, ids, cseen, problems)
                _field_problems(c, cpath, problems, form_name=name, sibling_keys=ckeys, in_child=True,
                                known_forms=known_forms)
                if isinstance(c.get("formula"), str) and (e := expression_at(c["formula"], ckeys - {c.get("key")},
                                                                     f"{cpath}/formula", problems)):
                    cexprs[c["key"]] = e
                _default_exprs(c, cpath, ckeys - {c.get("key")}, problems)
            child_orders[f["key"]] = _formula_order(children, cexprs, f"{path}/fields", problems)
    order = _formula_order(fields, exprs, "/fields", problems)
    rules = []
    for i, r in enumerate(raw.get("rules", []) if isinstance(raw.get("rules"), list) else []):
        if isinstance(r, Mapping) and (e := expression_at(r.get("when"), main_scalar | table_keys, f"/rules/{i}/when", problems)):
            if isinstance(r.get("field"), str) and r["field"] not in main_scalar | table_keys:
                problems.add(f"/rules/{i}/field", f"未知字段 {r['field']}", f"unknown field {r['field']}", "unknown_field")
            rules.append(RuleSpec(i, e, text_of(r.get("message")), r.get("field")))
    indexes = _indexes(raw, main_scalar, problems)
    display = raw.get("display_field")
    if isinstance(display, str) and display not in main_scalar:
        problems.add("/display_field", f"未知字段 {display}{did_you_mean(display, main_scalar)}",
                     f"unknown field {display}{did_you_mean(display, main_scalar)}", "unknown_field")
    _permission_problems(raw, main_scalar | table_keys, problems)
    machine = None
    if isinstance(raw.get("state_machine"), Mapping) and not problems:
        machine = compile_state_machine(raw["state_machine"], {f["key"]: f for f in fields if f.get("key") in main_scalar},
                                        problems)
    if raw.get("format") not in (None, FORMAT) and not problems:
        problems.add("/format", f"不支持的格式，应为 {FORMAT}", f"unsupported format; expected {FORMAT}", "format")
    problems.raise_if_any(f"表单定义 {name or '?'} 有 {len(problems.items)} 处错误",
                          f"form definition {name or '?'} has {len(problems.items)} problem(s)")
    specs = tuple(field_spec(f, exprs, main_scalar) for f in fields)
    if not isinstance(display, str):
        display = next((f.key for f in specs if f.type in ("autonumber", "text") and (f.unique or f.type == "autonumber")),
                       next((f.key for f in specs if f.type == "text"), "id"))
    return FormDefinition(name=name, raw=raw, hash=definition_hash(raw), label=text_of(raw.get("label"), name),
                          fields=specs, rules=tuple(rules), indexes=indexes, display_field=display,
                          formula_order=order, child_formula_order=child_orders, state_machine=machine)


def _register(f: Mapping[str, Any], path: str, ids: dict[str, str], keys: set[str], problems: ProblemList) -> None:
    fid, key = f.get("id"), f.get("key")
    if isinstance(fid, str):
        if fid in ids:
            problems.add(f"{path}/id", f"字段 id {fid} 重复（已用于 {ids[fid]}）", f"duplicate field id {fid} (already used at {ids[fid]})", "duplicate")
        ids[fid] = path
    if isinstance(key, str):
        if key in keys:
            problems.add(f"{path}/key", f"字段名 {key} 重复", f"duplicate field key {key}", "duplicate")
        keys.add(key)


def _default_exprs(f: Mapping[str, Any], path: str, fields_known: set[str], problems: ProblemList) -> None:
    d = f.get("default")
    if isinstance(d, Mapping):
        expression_at(d.get("expr"), set(EXTRA_NAMES), f"{path}/default/expr", problems) if "expr" in d else \
            problems.add(f"{path}/default", "表达式默认值写作 {\"expr\": \"...\"}", 'an expression default is written {"expr": "..."}', "default")
    b = f.get("backfill")
    if isinstance(b, Mapping) and "expr" in b:
        expression_at(b.get("expr"), fields_known, f"{path}/backfill/expr", problems)


def _indexes(raw: Mapping[str, Any], keys: set[str], problems: ProblemList) -> tuple[IndexSpec, ...]:
    out = []
    for i, ix in enumerate(raw.get("indexes", []) if isinstance(raw.get("indexes"), list) else []):
        cols = ix if isinstance(ix, list) else ix.get("fields", []) if isinstance(ix, Mapping) else []
        unique = bool(ix.get("unique")) if isinstance(ix, Mapping) else False
        for j, c in enumerate(cols):
            if isinstance(c, str) and c not in keys:
                sub = f"/indexes/{i}/{j}" if isinstance(ix, list) else f"/indexes/{i}/fields/{j}"
                problems.add(sub, f"索引中的字段 {c} 不存在或是子表{did_you_mean(c, keys)}",
                             f"index field {c} does not exist or is a table{did_you_mean(c, keys)}", "unknown_field")
        if len(set(cols)) != len(cols):
            problems.add(f"/indexes/{i}", "索引中字段重复", "duplicate field in index", "duplicate")
        out.append(IndexSpec(tuple(c for c in cols if isinstance(c, str)), unique))
    return tuple(out)


def _permission_problems(raw: Mapping[str, Any], keys: set[str], problems: ProblemList) -> None:
    for i, p in enumerate(raw.get("permissions", []) if isinstance(raw.get("permissions"), list) else []):
        if not isinstance(p, Mapping):
            continue
        if ("role" in p) == ("department" in p):
            problems.add(f"/permissions/{i}", "每条权限写一个角色或一个部门（二选一）",
                         "each permission names one role or one department (not both, not neither)", "grantee")
        for k in (p.get("fields") or {}) if isinstance(p.get("fields"), Mapping) else {}:
            if k not in keys:
                problems.add(f"/permissions/{i}/fields/{k}", f"未知字段 {k}{did_you_mean(k, keys)}",
                             f"unknown field {k}{did_you_mean(k, keys)}", "unknown_field")
        scope = p.get("scope")
        if isinstance(scope, Mapping) and isinstance(scope.get("expr"), str):
            bad = scope_problem(scope["expr"], keys)
            if bad:
                problems.add(f"/permissions/{i}/scope/expr", bad[0], bad[1], "expression")


def _generated(type_key: str) -> bool:
    ft = fieldtypes.field_type(type_key)
    return ft is not None and ft.generated


def field_spec(f: Mapping[str, Any], exprs: Mapping[str, Expression], scalar_keys: set[str]) -> FieldSpec:
    """The frozen ``FieldSpec`` of a validated field definition (``exprs``: formulas already compiled, by key)."""
    raw_opts = f.get("options", [])
    options = tuple(o if isinstance(o, str) else o["value"] for o in raw_opts)
    option_labels = {(o if isinstance(o, str) else o["value"]): text_of(o if isinstance(o, str) else o.get("label"),
                                                                         o if isinstance(o, str) else o["value"])
                     for o in raw_opts}
    d = f.get("default")
    default_expr = compile_expression(d["expr"], known_names=set(EXTRA_NAMES)) if isinstance(d, Mapping) else None
    b = f.get("backfill")
    backfill_expr = compile_expression(b["expr"]) if isinstance(b, Mapping) and "expr" in b else None
    children = tuple(field_spec(c, {}, set()) for c in f.get("fields", [])) if f.get("type") == "table" else ()
    formula = exprs.get(f["key"])
    if formula is None and isinstance(f.get("formula"), str):
        formula = compile_expression(f["formula"])
    return FieldSpec(
        id=f["id"], key=f["key"], type=f["type"], raw=f, label=text_of(f.get("label"), f["key"]),
        required=bool(f.get("required")), unique=bool(f.get("unique")),
        read_only=bool(f.get("read_only")) or formula is not None or f["type"] == "formula" or _generated(f["type"]),
        hidden=bool(f.get("hidden")), options=options, option_labels=option_labels, children=children,
        formula=formula, default_expr=default_expr, backfill_expr=backfill_expr,
        regex=re.compile(f["regex"]) if isinstance(f.get("regex"), str) else None,
    )
