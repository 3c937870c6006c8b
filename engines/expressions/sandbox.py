"""The one expression sandbox (simpleeval with limits) used by formulas, defaults, rules, workflow
conditions, report expressions and connector mappings.

Expressions are parsed once (at compile time, so errors carry a definition path) and evaluated many
times. Limits: source length, AST size, no lambdas/comprehensions/attribute access, bounded powers,
numbers (every intermediate value: at most ~300 digits, finite) and string sizes, and a time limit
per evaluation; with no loops, evaluation time is bounded by the AST size anyway.

At compile, every constant sub-expression (no field names, no clock) is evaluated under the same
limits, so a formula that can never work (``1/0``, ``9**9**9``, ``sqrt(-1)``) is refused with the
part that fails instead of giving NULL on every record.
"""
from __future__ import annotations

import ast
import datetime as dt
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import simpleeval

from mom.engines.expressions.strictness import publishing
from mom.platform.errors import MomError, did_you_mean

MAX_SOURCE = 2000
MAX_NODES = 400
MAX_STRING = 20000
MAX_POWER = 1000
MAX_TEXT = 100_000        # a text made by a function (concat, upper …): as long as the longest text field
MAX_DIGITS = 300          # a number with more digits than this is "too large" (10**300 is far past any plant value)
MAX_PLACES = 100          # round(x, n): |n| at most this (issue 16, item 8: 10**|n| is computed in C)
MAX_NUMBER_TEXT = 1000    # decimal("…") / int("…"): a text of more characters is "too large" before it is parsed
MAX_SECONDS = 1.0         # one evaluation; it is bounded by the AST size already, this is a second line of defence

_FORBIDDEN = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Attribute,
              ast.Starred, ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom, ast.JoinedStr, ast.Slice)


# simpleeval reads these module globals at evaluation time; we are its only user in-process.
simpleeval.MAX_POWER = MAX_POWER
simpleeval.MAX_STRING_LENGTH = MAX_STRING


class ExpressionError(MomError):
    """Raised for a bad expression (at compile) or a failed evaluation; the message is bilingual.

    ``kind`` says what failed: ``div_zero``, ``too_large``, ``domain``, ``too_long``, ``value`` (a value of
    the wrong form, e.g. ``decimal("abc")``), ``timeout`` — failures a record's values caused and that are
    shown on the record (see :data:`SHOWN_KINDS`) — or ``missing`` (an input is empty or of another type;
    the result just stays empty), ``name`` and ``invalid`` (the expression itself is wrong)."""

    code = "invalid_input"   # 422 if one reaches the API

    def __init__(self, zh: str, en: str, kind: str = "invalid") -> None:
        super().__init__(zh, en)
        self.kind = kind

    @property
    def message(self) -> dict[str, str]:
        return {"zh-CN": self.zh, "en": self.en}


# failures that a record's values caused and that a person should see next to the field (not just NULL)
SHOWN_KINDS = frozenset({"div_zero", "too_large", "domain", "too_long", "value", "timeout"})


def too_large() -> ExpressionError:
    return ExpressionError("数值过大", "number too large", "too_large")


def _bounded(v: Any) -> Any:
    """``v`` itself, or ExpressionError when it is a number too large (or not finite) or a text too long."""
    t = type(v)
    if t is int:
        if v.bit_length() > MAX_DIGITS * 3.33:
            raise too_large()
    elif t is Decimal:
        if not v.is_finite():
            if v.is_nan():
                raise ExpressionError("结果不是数字（超出函数的定义域）", "the result is not a number (outside the function's domain)", "domain")
            raise too_large()
        if v and v.adjusted() > MAX_DIGITS:
            raise too_large()
    elif t is float:
        if math.isnan(v):
            raise ExpressionError("结果不是数字（超出函数的定义域）", "the result is not a number (outside the function's domain)", "domain")
        if math.isinf(v) or abs(v) >= 10.0 ** MAX_DIGITS:
            raise too_large()
    elif t is str and len(v) > MAX_TEXT:
        raise ExpressionError(f"文本过长（最多 {MAX_TEXT} 个字符）", f"text too long (max {MAX_TEXT} characters)", "too_long")
    return v


# The messages of failures are fixed texts per kind: an exception's own text often quotes the value it
# choked on (``int('PASSWORD-123')``), and a failure is shown to people who may not read that field.
_VALUE_ZH, _VALUE_EN = ("取值无效：某个输入的格式不符合函数的要求（如把文字当作数字或日期）",
                        "invalid value: an input does not have the form the function needs (e.g. text where a number or a date is expected)")
_MISSING_ZH, _MISSING_EN = ("表达式求值失败：某个输入为空或类型不符", "evaluation failed: an input is empty or of another type")
_DOMAIN_ZH, _DOMAIN_EN = ("超出函数的定义域（如负数开平方）", "outside the function's domain (e.g. the square root of a negative number)")


def failure(exc: BaseException) -> ExpressionError:
    """The bilingual ExpressionError for an exception raised while evaluating. Its text is fixed per kind
    and never contains an input's value."""
    if isinstance(exc, ExpressionError):
        return exc
    if isinstance(exc, ZeroDivisionError):          # also decimal.DivisionByZero / DivisionUndefined
        return ExpressionError("除数为零", "division by zero", "div_zero")
    if isinstance(exc, (OverflowError, RecursionError, MemoryError)) or type(exc).__name__ == "Overflow":
        return too_large()
    if isinstance(exc, InvalidOperation) or (isinstance(exc, ValueError) and "math domain" in str(exc)):
        return ExpressionError(_DOMAIN_ZH, _DOMAIN_EN, "domain")
    if isinstance(exc, simpleeval.IterableTooLong):
        return ExpressionError(f"文本或列表过长（最多 {MAX_STRING} 个字符）", f"text or list too long (max {MAX_STRING} characters)", "too_long")
    if isinstance(exc, simpleeval.NameNotDefined):   # a name of the expression itself, not a value
        return ExpressionError(f"未知名称 {exc.name}", f"unknown name {exc.name}", "name")
    if isinstance(exc, ArithmeticError):
        return ExpressionError(_DOMAIN_ZH, _DOMAIN_EN, "domain")
    if isinstance(exc, ValueError):
        return ExpressionError(_VALUE_ZH, _VALUE_EN, "value")
    if isinstance(exc, (TypeError, KeyError, IndexError)):
        return ExpressionError(_MISSING_ZH, _MISSING_EN, "missing")
    return ExpressionError("表达式求值失败", "evaluation failed", "invalid")


def _num(v: Any) -> Any:
    if isinstance(v, float):
        return Decimal(repr(v))
    return v


def _rows(rows: Any, key: str) -> list[Any]:
    return [r.get(key) for r in (rows or []) if isinstance(r, Mapping) and r.get(key) is not None]


def _to_date(v: Any) -> dt.date:
    if v is None or v == "":
        raise TypeError("no date")          # an empty input: the result stays empty, no error shown
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v))


def _decimal(v: Any) -> Decimal:
    if v is None or v == "":
        raise TypeError("no number")
    text = str(v)
    if len(text) > MAX_NUMBER_TEXT:
        raise too_large()
    try:
        d = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError("not a number") from exc      # (the value itself is never quoted: see failure())
    return _bounded(d)


def _int(v: Any, *base: int) -> int:
    if isinstance(v, (Decimal, float)):
        _bounded(v)
    elif isinstance(v, str) and len(v) > MAX_NUMBER_TEXT:     # int('9' * 10**6) is quadratic in C
        raise too_large()
    return _bounded(int(v, *base))


def _float(v: Any) -> float:
    return _bounded(float(v))


def _concat(*parts: Any) -> str:
    return _bounded("".join("" if x is None else str(x) for x in parts))


def _places(n: Any) -> int:
    """``round``'s number of decimal places as an int in [-MAX_PLACES, MAX_PLACES]: Python's round(x, n)
    computes 10**|n| in C (a huge |n| would hold the whole process), so larger values are refused."""
    if isinstance(n, bool) or not isinstance(n, (int, Decimal)) or (isinstance(n, Decimal) and n != n.to_integral_value()):
        raise TypeError("decimal places must be a whole number")
    if abs(n) > MAX_PLACES:
        raise ExpressionError(f"小数位数超出范围（应在 -{MAX_PLACES} 到 {MAX_PLACES} 之间）",
                              f"the number of decimal places is out of range (it must be between -{MAX_PLACES} and {MAX_PLACES})", "domain")
    return int(n)


def _round(v: Any, n: Any = 0) -> Any:
    n = _places(n)
    if isinstance(v, Decimal):
        return v.quantize(Decimal(1).scaleb(-n), rounding="ROUND_HALF_UP")
    return round(v, n)


BASE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs, "min": min, "max": max, "round": _round, "len": len, "str": str, "int": _int,
    "decimal": _decimal, "float": _float, "bool": bool,
    "ceil": lambda v: _bounded(math.ceil(v)), "floor": lambda v: _bounded(math.floor(v)),
    "sqrt": lambda v: _num(math.sqrt(v)) if not isinstance(v, Decimal) else v.sqrt(),
    "upper": lambda s: str(s).upper(), "lower": lambda s: str(s).lower(),
    "concat": _concat,
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


def _arguments_bounded(f: Callable[..., Any]) -> Callable[..., Any]:
    """``f`` with every argument bounded before it runs: a record's own value (a name) is not checked
    when read, and a function's cost may grow with a number's size inside C code (int(Decimal('1e999999999')),
    math.ceil, timedelta) that the deadline cannot interrupt."""
    def run(*args: Any) -> Any:
        for a in args:
            _bounded(a)
        return f(*args)
    run.__name__ = getattr(f, "__name__", "function")
    return run


BASE_FUNCTIONS = {k: _arguments_bounded(f) for k, f in BASE_FUNCTIONS.items()}
CLOCK_FUNCTIONS = ("today", "now")
FUNCTION_NAMES = frozenset(BASE_FUNCTIONS) | frozenset(CLOCK_FUNCTIONS)
CONSTANTS = {"True": True, "False": False, "None": None, "true": True, "false": False, "null": None}


def _power(a: Any, b: Any) -> Any:
    """a ** b with the result's size bounded (no 9 ** 9 ** 9)."""
    if abs(b) > 100 or (abs(a) > 1 and float(abs(b)) * math.log10(abs(a)) > MAX_DIGITS):
        raise too_large()
    return a ** b


def _lshift(a: Any, b: Any) -> Any:
    """a << b with the result's size bounded (1 << 10**9 would build a 125 MB number)."""
    if isinstance(b, int) and b > MAX_DIGITS * 4:
        raise too_large()
    return a << b


OPERATORS = dict(simpleeval.DEFAULT_OPERATORS)
OPERATORS[ast.Pow] = _power
OPERATORS[ast.LShift] = _lshift


_COMPUTED = (ast.BinOp, ast.UnaryOp, ast.Call)


class _Evaluator(simpleeval.SimpleEval):
    deadline = math.inf

    def _eval(self, node):  # type: ignore[no-untyped-def]
        """Every computed value is checked (numbers bounded, texts not too long), and the clock; the
        record's own values (names) are taken as they are."""
        if time.monotonic() > self.deadline:
            raise ExpressionError("计算超时", "the calculation took too long", "timeout")
        value = super()._eval(node)
        return _bounded(value) if isinstance(node, _COMPUTED) else value

    def _eval_constant(self, node):  # type: ignore[no-untyped-def]
        value = node.value
        if isinstance(value, str) and len(value) > MAX_STRING:
            raise simpleeval.IterableTooLong("string literal too long")
        return _num(value)


def _run(source: str, node: ast.AST, names: Mapping[str, Any], now: dt.datetime | None) -> Any:
    """Evaluate the parsed ``node`` under the sandbox's limits; failures become ExpressionError."""
    clock = now or dt.datetime.now(dt.timezone.utc)
    functions = dict(BASE_FUNCTIONS)
    functions["today"] = lambda: clock.date()
    functions["now"] = lambda: clock
    values = dict(CONSTANTS)
    values.update(names)
    ev = _Evaluator(operators=OPERATORS, functions=functions, names=values)
    ev.deadline = time.monotonic() + MAX_SECONDS
    try:
        return ev.eval(source, previously_parsed=node)
    except (ExpressionError, simpleeval.InvalidExpression, ArithmeticError, TypeError, ValueError, KeyError,
            IndexError, RecursionError, MemoryError) as exc:
        raise failure(exc) from exc


@dataclass(frozen=True)
class Expression:
    """A parsed, checked expression. ``names`` are the free variable names it reads."""

    source: str
    tree: ast.AST
    names: frozenset[str]

    def evaluate(self, names: Mapping[str, Any], *, now: dt.datetime | None = None) -> Any:
        """The value for ``names``; ExpressionError (with a ``kind``) when the evaluation fails."""
        return _run(self.source, self.tree.body, names, now)  # type: ignore[attr-defined]


def _constant_parts(tree: ast.Expression) -> list[ast.expr]:
    """The largest sub-expressions that read no field and no clock (bare literals left out)."""
    pure = set(BASE_FUNCTIONS)
    callees = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}

    def constant(node: ast.AST) -> bool:
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and n.id not in CONSTANTS and not (id(n) in callees and n.id in pure):
                return False
        return True

    out: list[ast.expr] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.expr) and not isinstance(node, (ast.Constant, ast.Name)) and constant(node):
            out.append(node)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree.body)
    return out


def check_constants(source: str, tree: ast.Expression) -> None:
    """Evaluate each constant sub-expression now: one that fails would fail on every record."""
    if not publishing():   # a stored definition loads as it was published (see strictness.py)
        return
    parts = _constant_parts(tree)
    for node in parts:
        try:
            _run(source, node, {}, None)
        except ExpressionError as exc:
            part = ast.get_source_segment(source, node) or ast.unparse(node)
            part = part if len(part) <= 60 else part[:57] + "..."
            raise ExpressionError(f"{exc.zh}：{part} 永远无法计算，请改写这部分",
                                  f"{exc.en}: {part} can never be computed; rewrite this part", exc.kind) from None
    checked = {id(n) for p in parts for n in ast.walk(p)}    # (evaluated above, short-circuits and all)
    for node in ast.walk(tree):    # x / 0: a constant divisor that is zero fails on every record too
        if id(node) not in checked and isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)) and _is_zero(source, node.right):
            part = ast.get_source_segment(source, node) or ast.unparse(node)
            part = part if len(part) <= 60 else part[:57] + "..."
            raise ExpressionError(f"除数为零：{part} 永远无法计算，请改写这部分",
                                  f"division by zero: {part} can never be computed; rewrite this part", "div_zero")


def _is_zero(source: str, node: ast.expr) -> bool:
    if any(isinstance(n, ast.Name) and n.id not in CONSTANTS and n.id not in BASE_FUNCTIONS for n in ast.walk(node)):
        return False
    try:
        v = _run(source, node, {}, None)
    except ExpressionError:
        return False
    return type(v) in (int, float, Decimal) and v == 0


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
                raise ExpressionError(f"未知函数 {fname}{did_you_mean(fname, FUNCTION_NAMES)}",
                                      f"unknown function {fname}{did_you_mean(fname, FUNCTION_NAMES)}")
            called.add(node.func.id)
        elif isinstance(node, ast.Name):
            names.add(node.id)
    free = {n for n in names if n not in called and n not in CONSTANTS}
    if known_names is not None:
        unknown = sorted(free - set(known_names))
        if unknown:
            n = unknown[0]
            raise ExpressionError(f"未知字段或名称 {n}{did_you_mean(n, known_names)}",
                                  f"unknown field or name {n}{did_you_mean(n, known_names)}")
    check_constants(source.strip(), tree)
    return Expression(source=source.strip(), tree=tree, names=frozenset(free))
