"""Row-scope expressions compiled to SQL.

A permission's ``scope: {"expr": "..."}`` is a small boolean language over the form's fields and the
current user, e.g. ``result != 'fail' or created_by == user.id`` or
``workshop in ('W1', 'W2') and department_id in user.department_ids``. It becomes a SQLAlchemy
clause, so the database applies it in list, read, filter, sort, export and reports alike.
"""
from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

from mom.platform.errors import MomError

USER_ATTRS = ("id", "username", "department_id", "department_ids", "role_names")
_CMP = {ast.Eq: "eq", ast.NotEq: "ne", ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge",
        ast.In: "in", ast.NotIn: "not_in"}
SYSTEM_FIELDS = ("id", "created_by", "updated_by", "department_id", "created_at", "updated_at")


class ScopeError(MomError):
    """A row-scope expression is wrong (a definition's problem: 422 ``invalid_input`` if it reaches the API)."""

    code = "invalid_input"


def _parse(source: str) -> ast.Expression:
    if len(source) > 2000:
        raise ScopeError("范围表达式过长", "scope expression too long")
    try:
        return ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ScopeError(f"语法错误：{exc.msg}", f"syntax error: {exc.msg}") from exc


def scope_problem(source: str, keys: set[str]) -> tuple[str, str] | None:
    """Check a scope expression without a database; return (zh, en) or None."""
    try:
        compile_scope(source, lambda k: sa.column(k) if k in keys or k in SYSTEM_FIELDS else None,
                      {a: ([] if a.endswith("s") else 0) for a in USER_ATTRS})
    except ScopeError as exc:
        return exc.zh, exc.en
    return None


def compile_scope(source: str, column: Callable[[str], Any], user: Mapping[str, Any]) -> sa.ColumnElement[bool]:
    """Compile ``source`` to a SQL clause. ``column(key)`` returns the column for a field key or None."""
    return _Compiler(column, user).node(_parse(source).body)


class _Compiler:
    def __init__(self, column: Callable[[str], Any], user: Mapping[str, Any]) -> None:
        self.column, self.user = column, user

    def node(self, n: ast.AST) -> Any:
        if isinstance(n, ast.BoolOp):
            parts = [self.node(v) for v in n.values]
            return sa.and_(*parts) if isinstance(n.op, ast.And) else sa.or_(*parts)
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.Not):
            return sa.not_(self.node(n.operand))
        if isinstance(n, ast.Compare):
            if len(n.ops) != 1:
                raise ScopeError("每次只能比较一次（a < b < c 请写成 a < b and b < c）",
                                 "one comparison at a time (write a < b and b < c)")
            return self.compare(n.left, n.ops[0], n.comparators[0])
        raise ScopeError(f"范围表达式中不支持 {type(n).__name__}", f"{type(n).__name__} is not supported in a scope")

    def value(self, n: ast.AST) -> Any:
        if isinstance(n, ast.Constant):
            return n.value
        if isinstance(n, (ast.Tuple, ast.List)):
            return [self.value(e) for e in n.elts]
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "user":
            if n.attr not in USER_ATTRS:
                raise ScopeError(f"user 没有属性 {n.attr}（可用：{', '.join(USER_ATTRS)}）",
                                 f"user has no attribute {n.attr} (use {', '.join(USER_ATTRS)})")
            return self.user.get(n.attr)
        if isinstance(n, ast.Name):
            col = self.column(n.id)
            if col is None:
                raise ScopeError(f"未知字段 {n.id}", f"unknown field {n.id}")
            return col
        raise ScopeError(f"范围表达式中不支持 {type(n).__name__}", f"{type(n).__name__} is not supported in a scope")

    def compare(self, left: ast.AST, op: ast.cmpop, right: ast.AST) -> Any:
        a, b = self.value(left), self.value(right)
        kind = _CMP.get(type(op))
        if kind is None:
            raise ScopeError("不支持的比较", "unsupported comparison")
        if kind in ("in", "not_in"):
            values = list(b) if isinstance(b, (list, tuple)) else None
            if values is None:
                raise ScopeError("in 右侧必须是列表或 user.department_ids", "the right of in must be a list")
            clause = a.in_(values) if values else sa.false()
            return sa.not_(clause) if kind == "not_in" else clause
        if b is None or a is None:
            col = a if a is not None else b
            return col.is_(None) if kind == "eq" else col.is_not(None)
        return {"eq": a == b, "ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[kind]
