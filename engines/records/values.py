"""Turn an input document (API body, import row) into checked values for one record.

Order: unknown keys -> coercion -> defaults -> references resolved in one batch -> formulas (child
rows first, then the main form in dependency order) -> constraints -> cross-field rules. Every
problem is collected with its path; nothing is written here.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from mom.engines.expressions.sandbox import SHOWN_KINDS, ExpressionError
from mom.engines.forms import fieldtypes
from mom.engines.forms.compile import CompiledForm
from mom.engines.forms.model import CHILD_SYSTEM_COLUMNS, SYSTEM_COLUMNS, FieldSpec
from mom.engines.records.access import FormAccess
from mom.engines.records.context import Ctx
from mom.engines.records.display import NO_ACCESS_TEXTS
from mom.platform.errors import ProblemList, did_you_mean

INPUT_IGNORED = set(SYSTEM_COLUMNS) | {"_display"}


@dataclass
class Pending:
    """A value given by display text (reference/user/department) awaiting batch resolution."""

    field: FieldSpec
    text: str
    path: str
    target: dict[str, Any]
    key: str
    record: "Prepared"


@dataclass
class Prepared:
    values: dict[str, Any]
    children: dict[str, list[dict[str, Any]] | None]
    pending: list[Pending] = field(default_factory=list)
    ids_to_check: list[tuple[FieldSpec, int, str]] = field(default_factory=list)
    held: frozenset[tuple[str, Any]] = frozenset()   # (field id, id) the record already references


def _empty(v: Any) -> bool:
    return v is None or v == "" or v == []


def coerce_into(f: FieldSpec, raw: Any, path: str, target: dict[str, Any], prep: Prepared, problems: ProblemList,
                ctx: Ctx, co: Any = None) -> None:
    """``co``: the field's coercer when the caller already holds it (an input plan)."""
    try:
        v = (co or fieldtypes.coercer(f, ctx.tz))(raw)
    except fieldtypes.FieldError as exc:
        _type_problem(f, exc, path, problems)
        return
    if v is None or not _special(f):
        target[f.key] = v
    else:
        _store_special(f, v, path, target, prep)


def _type_problem(f: FieldSpec, exc: fieldtypes.FieldError, path: str, problems: ProblemList) -> None:
    problems.add(path, f"{f.label['zh-CN']}：{exc.zh}", f"{f.label['en']}: {exc.en}", "type")


def _store_special(f: FieldSpec, v: Any, path: str, target: dict[str, Any], prep: Prepared) -> None:
    if isinstance(v, fieldtypes.LookupNeeded):
        prep.pending.append(Pending(f, v.text, path, target, f.key, prep))
        target[f.key] = None
        return
    ft = fieldtypes.type_of(f)
    if ft.is_id:
        prep.ids_to_check.append((f, v, path))
    if ft.files and v:
        for a in v:
            prep.ids_to_check.append((f, a, path))
    target[f.key] = v


def _special(f: FieldSpec) -> bool:
    """The field's values need a look-up or an id check (references, users, departments, files)."""
    ft = fieldtypes.type_of(f)
    return ft is not None and ft.lookup


_SCALAR, _TABLE, _COMPUTED, _READ_ONLY, _AUTONUMBER, _AUTONUMBER_RO, _PLAIN = range(7)
# _PLAIN: a writable scalar whose coerced value is stored as it is (no look-up, no id check)


def visible_fields(compiled: CompiledForm, access: FormAccess) -> dict[str, FieldSpec]:
    return {f.key: f for f in compiled.definition.fields if access.visible(f.key)}


@dataclass(frozen=True)
class InputPlan:
    """How each key this actor may send is read: built once per request or import batch."""

    visible: Mapping[str, FieldSpec]
    entries: Mapping[str, tuple[FieldSpec, int, Any]]      # key -> (field, kind, coercer)


def input_plan(compiled: CompiledForm, access: FormAccess, ctx: Ctx) -> InputPlan:
    entries = {}
    visible = visible_fields(compiled, access)
    for key, f in visible.items():
        if f.computed:
            kind = _COMPUTED
        elif fieldtypes.is_generated(f):
            kind = _AUTONUMBER_RO if key in access.read_only else _AUTONUMBER
        elif key in access.read_only or (f.read_only and not ctx.actor.is_admin):
            kind = _READ_ONLY
        elif f.is_table:
            kind = _TABLE
        else:
            kind = _SCALAR if _special(f) else _PLAIN
        entries[key] = (f, kind, None if f.is_table else fieldtypes.coercer(f, ctx.tz))
    return InputPlan(visible, entries)


def read_input(compiled: CompiledForm, data: Any, *, ctx: Ctx, access: FormAccess, existing: Mapping[str, Any] | None,
               problems: ProblemList, prefix: str = "", plan: InputPlan | None = None) -> Prepared:
    """Coerce the given keys; on create (existing is None) fill defaults. Batch callers pass the
    ``plan`` (see :func:`input_plan`) so that it is worked out once."""
    prep = Prepared(values={}, children={})
    if type(data) is not dict and not isinstance(data, Mapping):
        problems.add(prefix or "/", "记录必须是 JSON 对象", "a record must be a JSON object", "type")
        return prep
    if plan is None:
        plan = input_plan(compiled, access, ctx)
    entries, values = plan.entries, prep.values
    for key, raw in data.items():
        e = entries.get(key)
        if e is None:
            if key not in INPUT_IGNORED:
                visible = plan.visible
                problems.add(f"{prefix}/{key}", f"未知字段 {key}{did_you_mean(key, set(visible))}",
                             f"unknown field {key}{did_you_mean(key, set(visible))}", "unknown_field")
            continue
        f, kind, co = e
        if kind == _PLAIN:
            try:
                values[key] = co(raw)
            except fieldtypes.FieldError as exc:
                _type_problem(f, exc, f"{prefix}/{key}", problems)
            continue
        if kind == _SCALAR and existing is not None and _keeps(f, raw, existing.get(key)):
            values[key] = existing[key]   # an export's "no access" text sent back: the reference stays
            continue
        if kind == _SCALAR or (kind == _AUTONUMBER and existing is None):
            coerce_into(f, raw, f"{prefix}/{key}", values, prep, problems, ctx, co)
            continue
        if kind == _COMPUTED:
            continue  # computed on save; an exported value coming back is ignored
        path = f"{prefix}/{key}"
        old = existing.get(key) if existing is not None else None
        if kind in (_AUTONUMBER, _AUTONUMBER_RO) and existing is not None:   # it never changes
            if raw not in (None, "") and raw != old:
                problems.add(path, f"{f.label['zh-CN']} 是自动编号，不能修改", f"{f.key} is an auto-number and cannot change", "read_only")
        elif kind in (_READ_ONLY, _AUTONUMBER_RO):
            if existing is None and _empty(raw):
                continue
            if existing is not None and _same(f, raw, old, ctx):
                continue
            problems.add(path, f"{f.label['zh-CN']} 是只读字段", f"{f.key} is read-only for you", "read_only")
        else:
            prep.children[key] = _read_rows(f, raw, path, prep, problems, ctx)
    if existing is None:
        _defaults(compiled, prep, ctx, problems, prefix)
    elif prep.ids_to_check or prep.pending:
        prep.held = _held(compiled, existing)
    return prep


def _keeps(f: FieldSpec, raw: Any, old: Any) -> bool:
    """A reference the reader may not see, sent back as its shown text, keeps its stored value."""
    return old is not None and f.value_type == "reference" and isinstance(raw, str) and raw.strip() in NO_ACCESS_TEXTS


def _held(compiled: CompiledForm, existing: Mapping[str, Any]) -> frozenset[tuple[str, Any]]:
    """(field id, id) of every reference the stored record already holds, child rows included."""
    defn = compiled.definition
    out = {(f.id, existing.get(f.key)) for f in defn.scalar_fields if fieldtypes.is_id(f)}
    for t in defn.table_fields:
        refs = [c for c in t.children if fieldtypes.is_id(c)]
        if refs:
            for row in existing.get(t.key) or ():
                out.update((c.id, row.get(c.key)) for c in refs)
    return frozenset(x for x in out if x[1] is not None)


def _same(f: FieldSpec, raw: Any, old: Any, ctx: Ctx) -> bool:
    try:
        return fieldtypes.coerce(f, raw, tz=ctx.tz) == old
    except fieldtypes.FieldError:
        return False


def _read_rows(f: FieldSpec, raw: Any, path: str, prep: Prepared, problems: ProblemList, ctx: Ctx) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.add(path, f"{f.label['zh-CN']} 应为行的列表", f"{f.key} must be a list of rows", "type")
        return []
    if len(raw) > int(f.raw.get("max_rows", 1000)):
        problems.add(path, f"{f.label['zh-CN']} 最多 {f.raw.get('max_rows', 1000)} 行", f"{f.key} allows at most {f.raw.get('max_rows', 1000)} rows", "max_rows")
        return []
    cols = {c.key: c for c in f.children}
    rows = []
    for i, r in enumerate(raw):
        rpath = f"{path}/{i}"
        row: dict[str, Any] = {}
        if not isinstance(r, Mapping):
            problems.add(rpath, "子表行必须是 JSON 对象", "a table row must be a JSON object", "type")
            continue
        if isinstance(r.get("id"), int):
            row["id"] = r["id"]
        for key, v in r.items():
            if key in CHILD_SYSTEM_COLUMNS or key == "_display":   # a row as read back carries its display texts
                continue
            c = cols.get(key)
            if c is None:
                problems.add(f"{rpath}/{key}", f"子表 {f.key} 没有字段 {key}{did_you_mean(key, set(cols))}",
                             f"table {f.key} has no field {key}{did_you_mean(key, set(cols))}", "unknown_field")
            elif not c.computed:
                coerce_into(c, v, f"{rpath}/{key}", row, prep, problems, ctx)
        for c in f.children:
            if c.key not in row and not c.computed:
                _default_one(c, row, ctx, problems, f"{rpath}/{c.key}", prep)
        rows.append(row)
    return rows


def _defaults(compiled: CompiledForm, prep: Prepared, ctx: Ctx, problems: ProblemList, prefix: str) -> None:
    plan = compiled.memo.get("defaults")
    if plan is None:   # (table keys, fields that have a default)
        defn = compiled.definition
        plan = compiled.memo["defaults"] = (
            [t.key for t in defn.table_fields],
            [f for f in defn.scalar_fields if not f.computed and not fieldtypes.is_generated(f)
             and (f.default_expr is not None or "default" in f.raw)])
    tables, defaulted = plan
    for key in tables:
        if key not in prep.children:
            prep.children[key] = []
    for f in defaulted:
        if f.key not in prep.values:
            _default_one(f, prep.values, ctx, problems, f"{prefix}/{f.key}", prep)


#: default expressions most forms use (who and when), answered as the sandbox answers them without starting it
_PLAIN_DEFAULTS: dict[str, Any] = {
    "now()": lambda ctx: ctx.now or dt.datetime.now(dt.timezone.utc),
    "today()": lambda ctx: (ctx.now or dt.datetime.now(dt.timezone.utc)).date(),
    "current_user": lambda ctx: ctx.actor.id,
    "current_department": lambda ctx: ctx.actor.department_id,
}


def _default_one(f: FieldSpec, target: dict[str, Any], ctx: Ctx, problems: ProblemList, path: str, prep: Prepared) -> None:
    if f.default_expr is not None:
        plain = _PLAIN_DEFAULTS.get(f.default_expr.source.strip())
        try:
            raw = plain(ctx) if plain is not None else f.default_expr.evaluate(
                {"current_user": ctx.actor.id, "current_department": ctx.actor.department_id}, now=ctx.now)
        except ExpressionError as exc:
            problems.add(path, f"默认值表达式失败：{exc.zh}", f"default expression failed: {exc.en}", "expression")
            return
        coerce_into(f, raw, path, target, prep, problems, ctx)
    elif "default" in f.raw:
        coerce_into(f, f.raw["default"], path, target, prep, problems, ctx)


def compute(compiled: CompiledForm, values: dict[str, Any], children: Mapping[str, list[dict[str, Any]]],
            ctx: Ctx, problems: ProblemList, prefix: str = "", errors: dict[str, dict[str, str]] | None = None) -> None:
    """Evaluate formulas in place: child rows first, then the main form in dependency order.

    A formula that fails for these values (division by zero, a number too large…) leaves its field
    empty; ``errors`` (if given) receives ``{path: {"zh-CN", "en"}}`` for each such failure."""
    defn = compiled.definition
    for t in defn.table_fields:
        order = defn.child_formula_order.get(t.key, ())
        for i, row in enumerate(children.get(t.key) or []):
            for key in order:
                c = t.child(key)
                assert c is not None and c.formula is not None
                row[key] = _eval(c, row, ctx, problems, f"{prefix}/{t.key}/{i}/{key}", errors)
    if not defn.formula_order:
        return
    names = _names(compiled, values, children)
    for key in defn.formula_order:
        f = defn.field(key)
        assert f is not None and f.formula is not None
        values[key] = names[key] = _eval(f, names, ctx, problems, f"{prefix}/{key}", errors)


def formula_errors(compiled: CompiledForm, row: Mapping[str, Any], children: Mapping[str, list[Mapping[str, Any]]],
                   ctx: Ctx, visible: Any) -> dict[str, dict[str, str]]:
    """Why the empty formula fields of a stored record are empty, when a formula failed for its values:
    ``{"/ratio": {"zh-CN": "除数为零", "en": "division by zero"}, "/lines/0/amount": …}``. The formulas
    run again on the stored values (as on save); only fields ``visible(key)`` and empty are looked at."""
    defn = compiled.definition
    if not defn.formula_order and not defn.child_formula_order:
        return {}
    empty = {f"/{k}" for k in defn.formula_order if row.get(k) is None and visible(k)}
    rows = {t.key: [dict(r) for r in children.get(t.key) or []] for t in defn.table_fields}
    for t, rs in rows.items():
        if visible(t):
            empty.update(f"/{t}/{i}/{k}" for i, r in enumerate(rs) for k in defn.child_formula_order.get(t, ())
                         if r.get(k) is None)
    if not empty:
        return {}
    errors: dict[str, dict[str, str]] = {}
    compute(compiled, {f.key: row.get(f.key) for f in defn.scalar_fields}, rows, ctx, ProblemList(), "", errors)
    return {p: m for p, m in errors.items() if p in empty}


def _names(compiled: CompiledForm, values: Mapping[str, Any], children: Mapping[str, Any]) -> dict[str, Any]:
    """Every field of the form is a name (empty ones are None), so rules can test for emptiness."""
    names: dict[str, Any] = {f.key: None for f in compiled.definition.scalar_fields}
    names.update(values)
    names.update({t.key: list(children.get(t.key) or []) for t in compiled.definition.table_fields})
    return names


def _eval(f: FieldSpec, names: Mapping[str, Any], ctx: Ctx, problems: ProblemList, path: str,
          errors: dict[str, dict[str, str]] | None = None) -> Any:
    try:
        v = f.formula.evaluate(names, now=ctx.now)  # type: ignore[union-attr]
        return fieldtypes.coerce(f, v, tz=ctx.tz)
    except ExpressionError as exc:
        # inputs missing or not yet valid: the formula stays empty, required-ness decides; a failure the
        # values caused (division by zero, …) is told to the reader beside the empty field
        if errors is not None and exc.kind in SHOWN_KINDS:
            errors[path] = exc.message
        return None
    except fieldtypes.FieldError:
        # a fixed text: the converter's message quotes the result, which may carry a field the reader cannot see
        problems.add(path, "公式结果不符合该字段的结果类型，请检查公式", "the formula's result does not fit the field's result type; check the formula", "formula")
        return None


def check(compiled: CompiledForm, values: Mapping[str, Any], children: Mapping[str, list[dict[str, Any]]],
          ctx: Ctx, problems: ProblemList, prefix: str = "") -> None:
    """Constraints and cross-field rules on the complete record."""
    defn = compiled.definition
    scalars = compiled.memo.get("checks")
    if scalars is None:
        scalars = compiled.memo["checks"] = [(f.key, _plainly_valid(f), f) for f in defn.scalar_fields if not fieldtypes.is_generated(f)]
    for key, plain, f in scalars:
        v = values.get(key)
        if not plain(v):
            _check_value(f, v, f"{prefix}/{key}", problems)
    for f in defn.table_fields:
        path = f"{prefix}/{f.key}"
        rows = children.get(f.key) or []
        if f.required and not rows or len(rows) < int(f.raw.get("min_rows", 0)):
            n = max(1, int(f.raw.get("min_rows", 0)))
            problems.add(path, f"{f.label['zh-CN']} 至少需要 {n} 行", f"{f.key} needs at least {n} row(s)", "required")
        for i, row in enumerate(rows):
            for c in f.children:
                v = row.get(c.key)
                if not _plainly_valid(c)(v):
                    _check_value(c, v, f"{path}/{i}/{c.key}", problems)
    if not defn.rules:
        return
    names = _names(compiled, values, children)
    for rule in defn.rules:
        try:
            fired = rule.when.evaluate(names, now=ctx.now)
        except ExpressionError:
            fired = False
        if fired:
            problems.add(f"{prefix}/{rule.field}" if rule.field else (prefix or "/"), rule.message["zh-CN"],
                         rule.message["en"], "rule")


def _family(f: FieldSpec) -> str:
    ft = fieldtypes.type_of(f)
    return ft.family if ft is not None else ""


def _limits(f: FieldSpec) -> tuple[int, int, Decimal | None, Decimal | None]:
    """(max length, min length, min, max) of a field, read from its definition once."""
    got = f.memo.get("limits")
    if got is None:
        ft, raw = fieldtypes.type_of(f), f.raw
        num = _family(f) == "number"
        got = f.memo["limits"] = (
            int(raw.get("max_length", ft.max_length if ft is not None else 100000)),
            int(raw.get("min_length", 0)),
            _bound(raw.get("min")) if num else None, _bound(raw.get("max")) if num else None)
    return got


def _bound(v: Any) -> Decimal | None:
    """A number field's min or max; one that is not a finite number (stored under older rules,
    publishing refuses it now) is no bound."""
    if v is None or isinstance(v, bool):
        return None
    try:
        d = Decimal(str(v).strip())
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def _plainly_valid(f: FieldSpec) -> Any:
    """A quick test, made once per field, that passes the values :func:`_check_value` would surely
    accept (it alone words the problems); anything it cannot vouch for gets the full check."""
    got = f.memo.get("plain")
    if got is not None:
        return got
    family, raw, required = _family(f), f.raw, f.required
    limit, min_len, lo, hi = _limits(f)
    if family == "text" and f.regex is None:
        def test(v: Any) -> bool:
            return (not required and v is None) or (type(v) is str and min_len <= len(v) <= limit and (v != "" or not required))
    elif family == "number":
        def test(v: Any) -> bool:
            if v is None:
                return not required
            return isinstance(v, (int, Decimal)) and (lo is None or v >= lo) and (hi is None or v <= hi)
    elif family == "choice" or (family == "temporal" and raw.get("min") is None and raw.get("max") is None):
        def test(v: Any) -> bool:
            return v is not None and v != "" if required else True
    else:
        def test(v: Any) -> bool:
            return False
    f.memo["plain"] = test
    return test


def _check_value(f: FieldSpec, v: Any, path: str, problems: ProblemList) -> None:
    if v is None or v == "" or v == []:
        if f.required:
            problems.add(path, f"{f.label['zh-CN']} 为必填项", f"{f.key} is required", "required")
        return
    name_zh, raw = f.label["zh-CN"], f.raw
    family = _family(f)
    if family == "text":
        limit, min_len, _, _ = _limits(f)
        if len(v) > limit:
            problems.add(path, f"{name_zh} 最长 {limit} 个字符（现为 {len(v)}）", f"{f.key} is longer than {limit} characters ({len(v)})", "max_length")
        if len(v) < min_len:
            problems.add(path, f"{name_zh} 至少 {raw['min_length']} 个字符", f"{f.key} needs at least {raw['min_length']} characters", "min_length")
        if f.regex is not None and not f.regex.fullmatch(v):
            msg = raw.get("regex_message")
            zh = msg.get("zh-CN") if isinstance(msg, Mapping) else msg
            en = msg.get("en") if isinstance(msg, Mapping) else msg
            problems.add(path, zh or f"{name_zh} 格式不符合 {raw['regex']}", en or f"{f.key} does not match {raw['regex']}", "regex")
    if family == "number" and isinstance(v, (int, Decimal)):
        _, _, lo, hi = _limits(f)
        if lo is not None and v < lo:
            problems.add(path, f"{name_zh} 不能小于 {raw['min']}", f"{f.key} must be at least {raw['min']}", "min")
        if hi is not None and v > hi:
            problems.add(path, f"{name_zh} 不能大于 {raw['max']}", f"{f.key} must be at most {raw['max']}", "max")
    if family == "temporal":
        s = v.isoformat()
        if raw.get("min") is not None and s < str(raw["min"]):
            problems.add(path, f"{name_zh} 不能早于 {raw['min']}", f"{f.key} must not be before {raw['min']}", "min")
        if raw.get("max") is not None and s > str(raw["max"]):
            problems.add(path, f"{name_zh} 不能晚于 {raw['max']}", f"{f.key} must not be after {raw['max']}", "max")


_DIGITS = re.compile(r"^[0-9]{1,19}$")   # an id: ASCII digits that fit 64 bits (not "²", not 10**30)


def is_digits(s: str) -> bool:
    return bool(_DIGITS.match(s))
