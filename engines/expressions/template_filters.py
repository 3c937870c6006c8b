"""What every template filter may be given (issue 16, item 8): each filter's arguments and worst-case
output are checked *before* it runs, because work inside one C call (round(7, -10**9), json.dumps with
indent=10**9, textwrap of 4 MB) cannot be interrupted by the render's deadline. A filter not named in
:data:`FILTER_CHECKS` is not offered by the bounded environment."""
from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from mom.engines.expressions.template_budget import (TemplateLimit, Budget, current_budget, check_replace, check_result,
                                                     format_widths, weight)

MAX_PLACES = 100          # round's precision: Python computes 10**|precision| in C, out of the deadline's reach
MAX_DECIMALS = 20         # number(decimals): digits after the point
MAX_JSON_INDENT = 8       # tojson(indent)
MAX_WRAP_TEXT = 200_000   # wordwrap: longest text (textwrap copies the rest of a long word for every line)
MAX_WRAP_LINES = 10_000   # wordwrap: text length / width
MAX_DECIMAL_EXPONENT = 4000   # a Decimal past 10**4000 would take minutes to become an int (|int, '%d')


def _int_arg(v: Any, default: int = 0) -> int | None:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, float) and math.isfinite(v):
        return int(v)
    return None if v is not None else default


def _refuse(zh: str, en: str) -> TemplateLimit:
    return TemplateLimit(zh, en, "argument")


def _check_places(b: Budget, a: Mapping[str, Any]) -> None:
    p = _int_arg(a.get("precision", 0))
    if p is not None and abs(p) > MAX_PLACES:
        raise _refuse(f"小数位数超出范围（round 的位数应在 -{MAX_PLACES} 到 {MAX_PLACES} 之间）",
                      f"the number of decimal places is out of range (round takes -{MAX_PLACES} to {MAX_PLACES})")


def _check_decimals(b: Budget, a: Mapping[str, Any]) -> None:
    d = _int_arg(a.get("decimals", 2))
    if d is None or not 0 <= d <= MAX_DECIMALS:
        raise _refuse(f"小数位数超出范围（number 的位数应在 0 到 {MAX_DECIMALS} 之间）",
                      f"the number of decimal places is out of range (number takes 0 to {MAX_DECIMALS})")


def _check_center(b: Budget, a: Mapping[str, Any]) -> None:
    w = _int_arg(a.get("width", 80))
    b.text(max(w or 0, weight(a.get("value"))))


def _check_indent(b: Budget, a: Mapping[str, Any]) -> None:
    s, w = a.get("s"), a.get("width", 4)
    w = len(w) if isinstance(w, str) else (_int_arg(w) or 0)
    lines = 1 + (s.count("\n") if isinstance(s, str) else 0)
    b.text(weight(s) + lines * max(w, 0))


def _check_wordwrap(b: Budget, a: Mapping[str, Any]) -> None:
    s, w = a.get("s"), _int_arg(a.get("width", 79))
    if w is None or w < 1:
        raise _refuse("wordwrap 的宽度至少为 1", "wordwrap's width must be at least 1")
    n = len(s) if isinstance(s, str) else 0
    lines = n // w + 1
    wrap = a.get("wrapstring")
    if n > MAX_WRAP_TEXT or lines > MAX_WRAP_LINES:
        raise TemplateLimit(f"wordwrap 的文本最多 {MAX_WRAP_TEXT:,} 个字符、最多折成 {MAX_WRAP_LINES:,} 行（文本长度 ÷ 宽度）",
                            f"wordwrap takes a text of at most {MAX_WRAP_TEXT:,} characters making at most {MAX_WRAP_LINES:,} lines (length ÷ width)")
    b.text(n + lines * (len(wrap) if isinstance(wrap, str) else 1))


def _check_tojson(b: Budget, a: Mapping[str, Any]) -> None:
    indent = (a.get("kwargs") or {}).get("indent", a.get("indent"))
    if indent is not None and (_int_arg(indent) is None or not 0 <= _int_arg(indent) <= MAX_JSON_INDENT):  # type: ignore[operator]
        raise _refuse(f"tojson 的缩进应在 0 到 {MAX_JSON_INDENT} 之间", f"tojson's indent must be between 0 and {MAX_JSON_INDENT}")


def _text_items(v: Any) -> int:
    """UTF-8 bytes of the texts of a text, mapping or list of pairs (what urlencode / xmlattr write)."""
    if isinstance(v, str):
        return len(v.encode("utf-8", "surrogatepass"))
    pairs = v.items() if isinstance(v, Mapping) else v if isinstance(v, (list, tuple)) else ()
    total = 0
    for pair in pairs:
        for x in (pair if isinstance(pair, (list, tuple)) else (pair,)):
            total += len(str(x).encode("utf-8", "surrogatepass")) + 1
    return total


def _check_urlencode(b: Budget, a: Mapping[str, Any]) -> None:
    b.text(3 * _text_items(a.get("value")))       # every byte may become %XX


def _check_xmlattr(b: Budget, a: Mapping[str, Any]) -> None:
    d = a.get("d")
    b.text(6 * _text_items(d) if isinstance(d, Mapping) else 0)   # '"' becomes &#34;


def _check_escape(b: Budget, a: Mapping[str, Any]) -> None:
    s = next(iter(a.values()), None)
    if isinstance(s, str):
        b.text(len(s) + 4 * sum(s.count(c) for c in "<>&'\""))


def _check_items_arg(key: str, default: int) -> Any:
    def check(b: Budget, a: Mapping[str, Any]) -> None:
        n = _int_arg(a.get(key, default))
        if n is None or n < 1:
            raise _refuse(f"{key} 至少为 1", f"{key} must be at least 1")
        b.items(n)
    return check


def _check_format(b: Budget, a: Mapping[str, Any]) -> None:
    v = a.get("value")
    if isinstance(v, str):
        b.text(len(v) + format_widths(v) + weight(tuple(a.get("args") or ())) + weight(tuple((a.get("kwargs") or {}).values())))
        _check_int_formats(v, tuple(a.get("args") or ()) + tuple((a.get("kwargs") or {}).values()))


def _check_replace_filter(b: Budget, a: Mapping[str, Any]) -> None:
    s = a.get("s")
    if isinstance(s, str):
        check_replace(b, s, a.get("old"), a.get("new"))


def _check_join(b: Budget, a: Mapping[str, Any]) -> None:
    v = a.get("value")
    if isinstance(v, (list, tuple)):
        b.text(weight(v) + len(v) * len(str(a.get("d", ""))))


def _check_short_text(key: str, most: int) -> Any:
    def check(b: Budget, a: Mapping[str, Any]) -> None:
        v = a.get(key)
        if v is not None and len(str(v)) > most:
            raise _refuse(f"{key} 最多 {most:,} 个字符", f"{key} takes at most {most:,} characters")
    return check


def _check_number_value(b: Budget, a: Mapping[str, Any]) -> None:
    _check_decimal(next(iter(a.values()), None))


def _check_decimal(v: Any) -> None:
    """A Decimal whose exponent is huge takes minutes to become an int: refused before it does."""
    if isinstance(v, Decimal) and v.is_finite() and v and abs(v.adjusted()) > MAX_DECIMAL_EXPONENT:
        raise TemplateLimit("模板中的数值过大", "a number in the template is too large")


def _check_int_formats(fmt: str, args: tuple[Any, ...]) -> None:
    for v in args:
        _check_decimal(v)


def _nothing(b: Budget, a: Mapping[str, Any]) -> None:
    return None


# Every filter the environment offers and what is checked before it runs (besides the size of its input,
# counted for all, and of its result). A filter not named here is removed from the environment.
# Unbounded growth is refused: escape ≤ 5×, urlencode ≤ 3× (checked); upper/lower/title/capitalize grow
# at most 3× in C and are checked after.
FILTER_CHECKS: dict[str, Any] = {
    "abs": _nothing, "attr": _nothing, "batch": _check_items_arg("linecount", 1), "capitalize": _nothing,
    "center": _check_center, "count": _nothing, "d": _nothing, "default": _nothing, "dictsort": _nothing,
    "e": _check_escape, "escape": _check_escape, "filesizeformat": _nothing, "first": _nothing,
    "float": _nothing, "forceescape": _check_escape, "format": _check_format, "groupby": _nothing,
    "indent": _check_indent, "int": _check_number_value, "items": _nothing, "join": _check_join, "last": _nothing,
    "length": _nothing, "list": _nothing, "lower": _nothing, "map": _nothing, "max": _nothing, "min": _nothing,
    "pprint": _nothing, "random": _nothing, "reject": _nothing, "rejectattr": _nothing,
    "replace": _check_replace_filter, "reverse": _nothing, "round": lambda b, a: (_check_places(b, a), _check_number_value(b, a)),
    "safe": _nothing, "select": _nothing, "selectattr": _nothing, "slice": _check_items_arg("slices", 1),
    "sort": _nothing, "string": _nothing, "striptags": _nothing, "sum": _nothing, "title": _nothing,
    "tojson": _check_tojson, "trim": _nothing, "truncate": _nothing, "unique": _nothing, "upper": _nothing,
    "urlencode": _check_urlencode, "wordcount": _nothing, "wordwrap": _check_wordwrap, "xmlattr": _check_xmlattr,
    # print templates' own (engines/reports/printing.py)
    "number": lambda b, a: (_check_decimals(b, a), _check_number_value(b, a)),
    "date": _check_short_text("pattern", 200), "qr": _check_short_text("value", 7089),
    "barcode": _check_short_text("value", 500),
}
# urlize is removed: its output grows by a whole <a href=…> element per word and print pages have no links.


_PASSED = frozenset({"environment", "env", "context", "ctx", "eval_ctx", "eval_context"})


def _guarded_filter(name: str, f: Any) -> Any:
    check = FILTER_CHECKS[name]
    sig = inspect.signature(f)
    skip = 1 if getattr(f, "jinja_pass_arg", None) else 0
    params = list(sig.parameters.values())
    if skip and params and params[0].name in _PASSED:     # (an async variant's signature is its sync one's, without it)
        sig = sig.replace(parameters=params[1:])

    @functools.wraps(f)
    def run(*args: Any, **kwargs: Any) -> Any:
        b = current_budget()
        try:
            bound = sig.bind(*args[skip:], **kwargs)
        except TypeError:
            return f(*args, **kwargs)        # Jinja's own error for wrong arguments
        bound.apply_defaults()
        a = dict(bound.arguments)
        value = next(iter(a.values()), None)
        b.text(weight(value))
        check(b, a)
        out = f(*args, **kwargs)
        check_result(b, out)
        return out

    return run
