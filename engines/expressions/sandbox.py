"""The one expression sandbox (simpleeval with limits) used by formulas, defaults, rules, workflow
conditions, report expressions and connector mappings.

Expressions are parsed once (at compile time, so errors carry a definition path) and evaluated many
times. Limits: source length, AST size, no lambdas/comprehensions/attribute access, bounded powers
and string sizes; with no loops, evaluation time is bounded by the AST size.
"""
from __future__ import annotations

import ast
import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import simpleeval

MAX_SOURCE = 2000
MAX_NODES = 400
MAX_STRING = 20000
MAX_POWER = 1000

_FORBIDDEN = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Attribute,
              ast.Starred, ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom, ast.JoinedStr, ast.Slice)


# simpleeval reads these module globals at evaluation time; we are its only user in-process.
simpleeval.MAX_POWER = MAX_POWER
simpleeval.MAX_STRING_LENGTH = MAX_STRING


class ExpressionError(Exception):
    """Raised for a bad expression (at compile) or a failed evaluation; the message is bilingual."""

    def __init__(self, zh: str, en: str) -> None:
        self.zh, self.en = zh, en
        super().__init__(f"{zh} / {en}")


def _num(v: Any) -> Any:
    if isinstance(v, float):
        return Decimal(repr(v))
    return v


def _rows(rows: Any, key: str) -> list[Any]:
    return [r.get(key) for r in (rows or []) if isinstance(r, Mapping) and r.get(key) is not None]


def _to_date(v: Any) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v))


def _decimal(v: Any) -> Decimal:
    try:
        return Decimal(str(v))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {v!r}") from exc


def _round(v: Any, n: int = 0) -> Any:
    if isinstance(v, Decimal):
        return v.quantize(Decimal(1).scaleb(-n), rounding="ROUND_HALF_UP")
    return round(v, n)


BASE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs, "min": min, "max": max, "round": _round, "len": len, "str": str, "int": int,
    "decimal": _decimal, "float": float, "bool": bool,
    "ceil": math.ceil, "floor": math.floor,
    "sqrt": lambda v: _num(math.sqrt(v)) if not isinstance(v, Decimal) else v.sqrt(),
    "upper": lambda s: str(s).upper(), "lower": lambda s: str(s).lower(),
    "concat": lambda *a: "".join("" if x is None else str(x) for x in a),
    "coalesce": lambda *a: next((x for x in a if x is not None and x != ""), None),
    "contains": lambda a, b: b in (a or ""),
    "startswith": lambda a, b: str(a or "").startswith(b),
    "year": lambda d: _to_date(d).year, "month": lambda d: _to_date(d).month, "day": lambda d: _to_date(d).day,
    "date": _to_date,
    "add_days": lambda d, n: _to_date(d) + dt.timedelta(days=int(n)),
    "days_between": lambda a, b: (_to_date(b) - _to_date(a)).days,
    "sum_rows": lambda rows, key: sum(_rows(rows, key), Decimal(0)),
    "count_rows": lambda rows: len(rows or []),
    "avg_rows": lambda rows, key: (sum(_rows(rows, key), Decimal(0)) / len(_rows(rows, key))) if _rows(rows, key) else None,
    "min_rows": lambda rows, key: min(_rows(rows, key), default=None),
    "max_rows": lambda rows, key: max(_rows(rows, key), default=None),
}
CLOCK_FUNCTIONS = ("today", "now")
FUNCTION_NAMES = frozenset(BASE_FUNCTIONS) | frozenset(CLOCK_FUNCTIONS)
CONSTANTS = {"True": True, "False": False, "None": None, "true": True, "false": False, "null": None}


def _power(a: Any, b: Any) -> Any:
    """a ** b with the result's size bounded (no 9 ** 9 ** 9)."""
    if abs(b) > 100 or (abs(a) > 1 and float(abs(b)) * math.log10(abs(a)) > 300):
        raise ExpressionError("乘方结果过大", "power result too large")
    return a ** b


OPERATORS = dict(simpleeval.DEFAULT_OPERATORS)
OPERATORS[ast.Pow] = _power


class _Evaluator(simpleeval.SimpleEval):
    def _eval_constant(self, node):  # type: ignore[no-untyped-def]
        value = node.value
        if isinstance(value, str) and len(value) > MAX_STRING:
            raise simpleeval.IterableTooLong("string literal too long")
        return _num(value)


@dataclass(frozen=True)
class Expression:
    """A parsed, checked expression. ``names`` are the free variable names it reads."""

    source: str
    tree: ast.AST
    names: frozenset[str]

    def evaluate(self, names: Mapping[str, Any], *, now: dt.datetime | None = None) -> Any:
        clock = now or dt.datetime.now(dt.timezone.utc)
        functions = dict(BASE_FUNCTIONS)
        functions["today"] = lambda: clock.date()
        functions["now"] = lambda: clock
        values = dict(CONSTANTS)
        values.update(names)
        ev = _Evaluator(operators=OPERATORS, functions=functions, names=values)
        try:
            return ev.eval(self.source, previously_parsed=self.tree.body)  # type: ignore[attr-defined]
        except ExpressionError:
            raise
        except simpleeval.NameNotDefined as exc:
            raise ExpressionError(f"未知名称 {exc.name}", f"unknown name {exc.name}") from exc
        except (ZeroDivisionError, ArithmeticError) as exc:
            raise ExpressionError(f"计算错误：{exc}", f"arithmetic error: {exc}") from exc
        except (simpleeval.InvalidExpression, TypeError, ValueError, KeyError, IndexError,
                OverflowError, RecursionError) as exc:
            raise ExpressionError(f"表达式求值失败：{exc}", f"evaluation failed: {exc}") from exc


def compile_expression(source: str, *, known_names: set[str] | frozenset[str] | None = None) -> Expression:
    """Parse and check ``source``. ``known_names`` (if given) limits the variables it may read."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("表达式为空", "expression is empty")
    if len(source) > MAX_SOURCE:
        raise ExpressionError(f"表达式过长（最多 {MAX_SOURCE} 个字符）", f"expression too long (max {MAX_SOURCE} characters)")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"语法错误（第 {exc.offset} 列）：{exc.msg}",
                              f"syntax error at column {exc.offset}: {exc.msg}") from exc
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ExpressionError(f"表达式过于复杂（最多 {MAX_NODES} 个节点）", f"expression too complex (max {MAX_NODES} nodes)")
    names: set[str] = set()
    called: set[str] = set()
    for node in nodes:
        if isinstance(node, _FORBIDDEN):
            kind = type(node).__name__
            raise ExpressionError(f"不允许使用 {kind}（不支持属性访问、lambda、推导式）",
                                  f"{kind} is not allowed (no attribute access, lambdas or comprehensions)")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTION_NAMES:
                fname = node.func.id if isinstance(node.func, ast.Name) else "?"
                from mom.platform.errors import did_you_mean
                raise ExpressionError(f"未知函数 {fname}{did_you_mean(fname, FUNCTION_NAMES)}",
                                      f"unknown function {fname}{did_you_mean(fname, FUNCTION_NAMES)}")
            called.add(node.func.id)
        elif isinstance(node, ast.Name):
            names.add(node.id)
    free = {n for n in names if n not in called and n not in CONSTANTS}
    if known_names is not None:
        unknown = sorted(free - set(known_names))
        if unknown:
            from mom.platform.errors import did_you_mean
            n = unknown[0]
            raise ExpressionError(f"未知字段或名称 {n}{did_you_mean(n, known_names)}",
                                  f"unknown field or name {n}{did_you_mean(n, known_names)}")
    return Expression(source=source.strip(), tree=tree, names=frozenset(free))
