"""Report expressions compiled to SQL (never evaluated in Python, row by row).

The language is the Python-like syntax of the form engine's formulas, limited to what both SQLite and
PostgreSQL compute the same way: arithmetic (``/`` is true division and gives NULL for a zero
divisor), comparisons, ``and``/``or``/``not``, ``x if cond else y``, ``in``/``not in`` a list,
``is None``, field paths (``supplier.grade``, ``readings.value``) and the functions in ``FUNCTIONS``.
"""
from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from mom.engines.expressions.sandbox import MAX_NODES, MAX_SOURCE, ExpressionError, check_constants
from mom.platform.errors import InvalidInput

SQL_INT = 2 ** 63    # the widest integer both databases hold

FUNCTIONS = ("coalesce", "round", "abs", "lower", "upper", "concat", "length", "nullif", "min", "max")


class SqlExprError(InvalidInput):
    """A report expression that cannot be compiled to SQL (the caller locates it in the definition)."""


@dataclass(frozen=True, eq=False)
class Expression:
    """A parsed report expression: parsed and checked once, compiled to SQL per statement."""

    source: str
    tree: ast.expr
    names: tuple[str, ...]          # the field paths it reads, in order of first use

    @classmethod
    def parse(cls, source: str) -> "Expression":
        """Parse ``source`` (raises SqlExprError)."""
        tree = parse(source)
        return cls(source, tree, tuple(_names(tree)))

    def sql(self, column: Callable[[str], Any]) -> Any:
        """The SQLAlchemy expression; ``column(path)`` gives the SQL for a field path."""
        return _Compiler(column).node(self.tree)


def parse(source: str) -> ast.expr:
    """``source`` -> its expression tree, within the sandbox's limits (raises SqlExprError)."""
    if len(source) > MAX_SOURCE:
        raise SqlExprError("表达式过长", "expression too long")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise SqlExprError(f"语法错误：{exc.msg}", f"syntax error: {exc.msg}") from exc
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise SqlExprError("表达式过于复杂", "expression too complex")
    for n in ast.walk(tree):
        if isinstance(n, ast.Constant) and type(n.value) is int and abs(n.value) >= SQL_INT:
            raise SqlExprError(f"数值过大：{n.value}", f"number too large: {n.value}")
    try:    # constant parts (no field) are computed now with the formula sandbox: 1/0, 'a' * 10**9 …
        check_constants(source, tree)
    except ExpressionError as exc:
        raise SqlExprError(exc.zh, exc.en) from None
    return tree.body


def names_in(source: str) -> list[str]:
    """Field paths an expression reads (``a``, ``a.b``), in order of first use."""
    return _names(parse(source))


def _names(tree: ast.expr) -> list[str]:
    out: list[str] = []

    def visit(n: ast.AST) -> None:
        p = _path(n)
        if p is not None:
            if p not in out:
                out.append(p)
            return
        if isinstance(n, ast.Call):          # the function name is not a field
            for a in n.args:
                visit(a)
            return
        for c in ast.iter_child_nodes(n):
            visit(c)

    visit(tree)
    return out


def _path(n: ast.AST) -> str | None:
    parts = []
    while isinstance(n, ast.Attribute):
        parts.append(n.attr)
        n = n.value
    if isinstance(n, ast.Name):
        parts.append(n.id)
        return ".".join(reversed(parts))
    return None


_BIN = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Mod: "%"}
_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


class _Compiler:
    def __init__(self, column: Callable[[str], Any]) -> None:
        self.column = column

    def node(self, n: ast.AST) -> Any:
        path = _path(n)
        if path is not None:
            if path in ("True", "False", "None"):
                return sa.literal({"True": True, "False": False}[path]) if path != "None" else sa.null()
            return self.column(path)
        if isinstance(n, ast.Constant):
            if n.value is None:
                return sa.null()
            if isinstance(n.value, (bool, int, float, str)):
                return sa.literal(n.value)
            raise SqlExprError("不支持的常量", "unsupported constant")
        if isinstance(n, ast.BoolOp):
            parts = [self.node(v) for v in n.values]
            return sa.and_(*parts) if isinstance(n.op, ast.And) else sa.or_(*parts)
        if isinstance(n, ast.UnaryOp):
            v = self.node(n.operand)
            if isinstance(n.op, ast.Not):
                return sa.not_(v)
            if isinstance(n.op, ast.USub):
                return -v
            if isinstance(n.op, ast.UAdd):
                return v
        if isinstance(n, ast.BinOp) and type(n.op) in _BIN:
            a, b = self.node(n.left), self.node(n.right)
            op = _BIN[type(n.op)]
            if op == "/":
                return (a * sa.literal(1.0)) / sa.func.nullif(b, 0)
            if op == "%":
                return a % sa.func.nullif(b, 0)
            return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b}[op]()
        if isinstance(n, ast.IfExp):
            return sa.case((self.node(n.test), self.node(n.body)), else_=self.node(n.orelse))
        if isinstance(n, ast.Compare):
            if len(n.ops) != 1:
                raise SqlExprError("每次只能比较一次（a < b < c 请写成 a < b and b < c）",
                                   "one comparison at a time (write a < b and b < c)")
            return self.compare(n.left, n.ops[0], n.comparators[0])
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
            return self.call(n.func.id, n.args)
        raise SqlExprError(f"报表表达式中不支持 {type(n).__name__}", f"{type(n).__name__} is not supported in a report expression")

    def compare(self, left: ast.AST, op: ast.cmpop, right: ast.AST) -> Any:
        a = self.node(left)
        if isinstance(op, (ast.Is, ast.IsNot)):
            if not (isinstance(right, ast.Constant) and right.value is None):
                raise SqlExprError("is 只能与 None 比较", "is only compares with None")
            return a.is_(None) if isinstance(op, ast.Is) else a.is_not(None)
        if isinstance(op, (ast.In, ast.NotIn)):
            if not isinstance(right, (ast.Tuple, ast.List)):
                raise SqlExprError("in 右侧必须是列表，如 ('A', 'B')", "the right of in must be a list such as ('A', 'B')")
            values = []
            for e in right.elts:
                if not isinstance(e, ast.Constant):
                    raise SqlExprError("in 列表只能含常量", "an in list holds constants only")
                values.append(e.value)
            clause = a.in_(values) if values else sa.false()
            return sa.not_(clause) if isinstance(op, ast.NotIn) else clause
        sym = _CMP.get(type(op))
        if sym is None:
            raise SqlExprError("不支持的比较", "unsupported comparison")
        b = self.node(right)
        return {"==": lambda: a == b, "!=": lambda: a != b, "<": lambda: a < b, "<=": lambda: a <= b,
                ">": lambda: a > b, ">=": lambda: a >= b}[sym]()

    def call(self, name: str, args: list[ast.expr]) -> Any:
        if name not in FUNCTIONS:
            raise SqlExprError(f"报表表达式中没有函数 {name}（可用：{', '.join(FUNCTIONS)}）",
                               f"no function {name} in report expressions (use {', '.join(FUNCTIONS)})")
        vals = [self.node(a) for a in args]
        arity = {"round": (1, 2), "abs": (1, 1), "lower": (1, 1), "upper": (1, 1), "length": (1, 1),
                 "nullif": (2, 2)}.get(name, (1, 20))
        if not arity[0] <= len(vals) <= arity[1]:
            raise SqlExprError(f"{name} 的参数个数不对", f"wrong number of arguments to {name}")
        if name == "round":
            n = args[1].value if len(args) == 2 and isinstance(args[1], ast.Constant) else 0
            if not isinstance(n, int):
                raise SqlExprError("round 的位数必须是整数常量", "round takes a constant number of digits")
            return sa.func.round(sa.cast(vals[0], sa.Numeric(30, 10)), n)
        if name == "concat":
            out = sa.func.coalesce(sa.cast(vals[0], sa.Text), "")
            for v in vals[1:]:
                out = out.op("||")(sa.func.coalesce(sa.cast(v, sa.Text), ""))
            return out
        if name in ("min", "max"):
            if len(vals) < 2:
                raise SqlExprError(f"{name} 需要至少两个参数（聚合请用度量的 agg）",
                                   f"{name} takes two or more values (use a measure's agg to aggregate)")
            pick = ">" if name == "max" else "<"
            out = vals[0]
            for v in vals[1:]:
                out = sa.case((out.op(pick)(v), out), else_=v)
            return out
        return getattr(sa.func, name)(*vals)
