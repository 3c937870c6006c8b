"""Field paths of a report (``line``, ``supplier.grade``, ``readings.value``, ``created_by.name``) and
the joins they need.

Two stages, like the rest of the report engine:

- :class:`PathResolver` (publish time, no caller): checks a path segment by segment against the
  forms and produces a frozen :class:`PathSpec` — which column each segment reads, which join it
  walks through (a child table of the source, a referenced form, the user or department table).
- :class:`Binder` (per request): walks a ``PathSpec`` for one caller, adding the joins to the FROM
  clause with the caller's permissions inside them (a referenced form's row scope in its join
  condition, a form the caller may not read joined on ``false``), and gives a :class:`Ref` — the
  SQL of the value, or a typed NULL for a field hidden from the caller.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import util as sql_util

from mom.engines.forms.compile import CompiledForm
from mom.engines.forms.model import FieldSpec
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.platform.db import tables as T
from mom.platform.errors import InvalidInput, Problem, did_you_mean

MAIN_SYSTEM = ("id", "created_at", "created_by", "updated_at", "updated_by", "department_id", "form_version")
CHILD_SYSTEM = ("id", "seq", "parent_id")
USER_ATTRS = {"id": "id", "username": "username", "display_name": "display_name", "name": "display_name"}
DEPT_ATTRS = {"id": "id", "name": "name", "code": "code"}
SYSTEM_TYPES = {"id": "integer", "seq": "integer", "parent_id": "integer", "form_version": "integer",
                "created_at": "datetime", "updated_at": "datetime", "created_by": "user", "updated_by": "user",
                "department_id": "department"}


class BuildError(InvalidInput):
    """A problem located in the report definition (``path``, a JSON pointer) or its parameters."""

    defs: list[dict[str, Any]] | None = None     # the parameter definitions, when the spec stage raised it

    def __init__(self, path: str, zh: str, en: str, code: str = "invalid") -> None:
        self.path, self.problem_code = path, code
        super().__init__(zh, en, problems=[Problem(path, zh, en, code)])

    def __str__(self) -> str:
        return f"{self.path}: {self.zh} / {self.en}"


@dataclass
class Ref:
    """A resolved field path for one caller: its SQL on the joined tables and what it is."""

    sql: Any
    type: str                       # value type: text, integer, decimal, date, datetime, select, reference, user, ...
    spec: FieldSpec | None = None
    hidden: bool = False

    @property
    def has_display(self) -> bool:
        """A visible reference, user or department: shown by its display text (see PathSpec.display)."""
        return not self.hidden and self.type in ("reference", "user", "department")


@dataclass(frozen=True)
class Seg:
    """One segment of a path, as checked at publish time."""

    key: str                        # the segment as written
    here: str                       # the path up to and including it
    field: FieldSpec | None         # None: a system column or a user/department attribute
    step: str                       # column (the last segment) | child | form | user | department (a join)
    column: str                     # the column it reads (a user's ``name`` is ``display_name``)
    type: str = "text"              # the value type of a last segment
    target: str | None = None       # the referenced form of a ``form`` step


@dataclass(frozen=True)
class PathSpec:
    """A checked path: its segments and, for a reference/user/department, the path of its display text."""

    path: str
    segs: tuple[Seg, ...]
    type: str
    display: str | None = None


class PathResolver:
    """Checks paths against the forms (publish time); remembers the forms it read and the one child
    table a report may expand."""

    def __init__(self, source: CompiledForm, lookup: Callable[[str], CompiledForm]) -> None:
        self.source, self.lookup = source, lookup
        self.child: str | None = None
        self.paths: dict[str, PathSpec] = {}

    def resolve(self, path: str, where: str) -> PathSpec:
        """The checked ``path`` (raises BuildError located at ``where``)."""
        if path in self.paths:
            return self.paths[path]
        segs: list[Seg] = []
        node, compiled, tfield = "form", self.source, None
        parts = path.split(".")
        prefix = ""
        for i, seg in enumerate(parts):
            last = i == len(parts) - 1
            here = f"{prefix}.{seg}" if prefix else seg
            if node in ("user", "department"):
                attrs = USER_ATTRS if node == "user" else DEPT_ATTRS
                if seg not in attrs or not last:
                    raise BuildError(where, f"{prefix} 只有属性 {', '.join(attrs)}", f"{prefix} only has {', '.join(attrs)}")
                segs.append(Seg(seg, here, None, "column", attrs[seg], "integer" if seg == "id" else "text"))
                break
            if node == "form":
                fields = {f.key: f for f in compiled.definition.fields}
                system = MAIN_SYSTEM
            else:
                assert tfield is not None
                fields = {c.key: c for c in tfield.children}
                system = CHILD_SYSTEM
            if seg in system and seg not in fields:
                if seg in ("created_by", "updated_by", "department_id") and not last:
                    kind = "user" if seg != "department_id" else "department"
                    segs.append(Seg(seg, here, None, kind, seg))
                    node, prefix = kind, here
                    continue
                if not last:
                    raise BuildError(where, f"{here} 不是引用字段", f"{here} is not a reference")
                segs.append(Seg(seg, here, None, "column", seg, SYSTEM_TYPES[seg]))
                break
            f = fields.get(seg)
            if f is None:
                names = sorted(set(fields) | set(system))
                raise BuildError(where, f"{compiled.name} 中没有字段 {seg}{did_you_mean(seg, names)}",
                                 f"form {compiled.name} has no field {seg}{did_you_mean(seg, names)}", "unknown_field")
            if f.is_table:
                if last:
                    keys = ", ".join(f"{seg}.{c.key}" for c in f.children[:3])
                    raise BuildError(where, f"{seg} 是明细表，请写其字段，如 {keys}", f"{seg} is a table; name one of its fields, e.g. {keys}")
                if node != "form" or prefix:
                    raise BuildError(where, "只能展开来源表单自己的明细表", "only the source form's own tables can be expanded")
                if self.child not in (None, seg):
                    raise BuildError(where, f"一个报表只能展开一张明细表（已用 {self.child}）",
                                     f"a report can expand one table only ({self.child} is used)")
                self.child = seg
                segs.append(Seg(seg, here, f, "child", seg))
                node, tfield, prefix = "child", f, here
                continue
            if last:
                segs.append(Seg(seg, here, f, "column", seg, f.value_type))
                break
            if f.value_type == "reference":
                target = str(f.raw["form"])
                segs.append(Seg(seg, here, f, "form", seg, target=target))
                node, compiled, prefix = "form", self.lookup(target), here
            elif f.value_type in ("user", "department"):
                segs.append(Seg(seg, here, f, f.value_type, seg))
                node, prefix = f.value_type, here
            else:
                raise BuildError(where, f"{here} 不是引用字段，不能写 {path}", f"{here} is not a reference; {path} is not allowed")
        out = PathSpec(path, tuple(segs), segs[-1].type)
        self.paths[path] = out
        return out

    def with_display(self, ps: PathSpec, where: str) -> PathSpec:
        """``ps`` with the path of the text that shows it (a reference's display field, a user's name …)."""
        if ps.type == "user":
            display = f"{ps.path}.display_name"
        elif ps.type == "department":
            display = f"{ps.path}.name"
        elif ps.type == "reference":
            spec = ps.segs[-1].field
            assert spec is not None
            target = self.lookup(str(spec.raw["form"]))
            display = f"{ps.path}.{spec.raw.get('display_field') or target.definition.display_field}"
        else:
            return ps
        self.resolve(display, where)
        out = PathSpec(ps.path, ps.segs, ps.type, display)
        self.paths[ps.path] = out
        return out


class Binder:
    """The joins and inner-select columns of one report run, for one caller (see the module docstring).

    ``summary``: a pre-aggregated report reads its summary table (mom.engines.reports.summary.Summary)
    in place of the source table: same field names for the grain, partial aggregates beside them."""

    def __init__(self, conn: Connection, ctx: Ctx, source: CompiledForm, access: Any, lookup: Callable[[str], CompiledForm],
                 static: Callable[[str, str], PathSpec], summary: Any = None) -> None:
        self.conn, self.ctx, self.source, self.access, self.lookup = conn, ctx, source, access, lookup
        self.dialect = conn.dialect.name
        self.static = static            # checks a path the spec does not hold (a summary's grain)
        self.summary = summary
        self.main = source.main if summary is None else summary.table
        self.from_: Any = self.main
        self.nodes: dict[str, tuple[Any, Any]] = {"": (self.main, ("form", source, access))}
        self.paths: dict[str, tuple[str, Ref]] = {}       # path -> (base label, ref)
        self.hidden: list[str] = []

    def resolve(self, path: str, where: str) -> Ref:
        """The SQL of ``path`` for this caller (joins added on first use)."""
        return self.bind(self.static(path, where))

    def bind(self, ps: PathSpec) -> Ref:
        """Walk a checked path with this caller's permissions."""
        table, info = self.nodes[""]
        for seg in ps.segs:
            kind = info[0]
            if kind in ("user", "department"):
                return Ref(table.c[seg.column], seg.type)
            if kind == "denied":
                return Ref(sa.null(), "text", hidden=True)
            f = seg.field
            if f is None:                                   # a system column
                if seg.step != "column":
                    table, info = self._join_platform(seg.here, table.c[seg.key], seg.step)
                    continue
                return Ref(table.c[seg.key], seg.type)
            access = info[2]
            if kind == "form" and not access.visible(seg.key):
                self.hidden.append(seg.here)
                return Ref(sa.null() if f.is_table else sa.cast(sa.null(), table.c[seg.key].type), f.value_type, f, hidden=True)
            if kind == "child" and not (access.visible(info[3].key) and access.visible(seg.key)):
                self.hidden.append(seg.here)
                return Ref(sa.cast(sa.null(), table.c[seg.key].type), f.value_type, f, hidden=True)
            if seg.step == "child":
                table, info = self._join_child(f)
            elif seg.step == "column":
                if self.summary is not None and "." not in seg.here:
                    if seg.key not in table.c:              # not in the grain: only its definition is used
                        return Ref(sa.null(), f.value_type, f)
                    if f.value_type == "datetime":
                        return Ref(table.c[seg.key], "date", f)  # the summary keeps the plant-local day
                return Ref(table.c[seg.key], f.value_type, f)
            elif seg.step == "form":
                assert seg.target is not None
                table, info = self._join_form(seg.here, table.c[seg.key], seg.target)
            else:
                table, info = self._join_platform(seg.here, table.c[seg.key], seg.step)
        raise AssertionError(f"path {ps.path} ends in a join")   # pragma: no cover (PathResolver ends every path)

    def base_label(self, path: str, where: str) -> tuple[str, Ref]:
        """The inner select's column for ``path`` (added on first use)."""
        if path not in self.paths:
            ref = self.resolve(path, where)
            self.paths[path] = (f"p{len(self.paths)}", ref)
        return self.paths[path]

    def _join_child(self, f: FieldSpec) -> tuple[Any, Any]:
        if f.key in self.nodes:
            return self.nodes[f.key]
        child = self.source.children[f.key]
        self.from_ = self.from_.join(child, child.c.parent_id == self.main.c.id)
        self.nodes[f.key] = (child, ("child", self.source, self.access, f))
        return self.nodes[f.key]

    def _join_form(self, prefix: str, fk: Any, form: str) -> tuple[Any, Any]:
        if prefix in self.nodes:
            return self.nodes[prefix]
        target = self.lookup(form)
        tacc = form_access(target, self.ctx.actor)
        alias = target.main.alias(f"j{len(self.nodes)}")
        on = [alias.c.id == fk, alias.c.deleted_at.is_(None)]
        if not tacc.can("read"):
            on.append(sa.false())
            self.nodes[prefix] = (alias, ("denied",))
            self.hidden.append(f"{prefix}.*")
        else:
            scope = tacc.scope("read")
            if scope is not None:
                on.append(sql_util.ClauseAdapter(alias).traverse(scope))
            self.nodes[prefix] = (alias, ("form", target, tacc))
        self.from_ = self.from_.outerjoin(alias, sa.and_(*on))
        return self.nodes[prefix]

    def _join_platform(self, prefix: str, fk: Any, kind: str) -> tuple[Any, Any]:
        if prefix in self.nodes:
            return self.nodes[prefix]
        table = (T.user if kind == "user" else T.department).alias(f"j{len(self.nodes)}")
        self.from_ = self.from_.outerjoin(table, table.c.id == fk)
        self.nodes[prefix] = (table, (kind,))
        return self.nodes[prefix]
