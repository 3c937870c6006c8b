"""The bounded Jinja sandbox used by print templates and notification texts.

Jinja's own sandbox stops a template from reaching Python internals but not from using up the
server: ``{{ 'x' * 1000000000 }}`` (folded at compile), a loop inside a loop, a macro that calls
itself twice, ``'x'|center(10**9)``. This environment bounds all of them:

- output: rendering is streamed and counted (UTF-8 bytes); every buffer a macro, ``{% set %}`` block
  or ``{% filter %}`` builds, every ``~`` concatenation and every printed value is checked before it
  is joined, so no text larger than ``max_output`` is ever made;
- ``*``, ``+``, ``**`` and ``%`` are intercepted (and therefore never folded at compile): a repeated or
  joined text or list is refused before it is built, a power before it is computed;
- ``range`` holds at most ``max_range`` numbers; every ``for`` loop counts its steps
  (``max_iterations`` per render) and looks at the clock;
- time: one deadline per render (``max_seconds``), checked at every loop step, call, filter and
  intercepted operator;
- the size parameters of ``center``/``ljust``/``indent``/``format``/``replace``/``join``/``batch``/
  ``slice`` and of the ``str`` methods of the same names are checked before they run.

A refusal is :class:`TemplateLimit` (bilingual, with the template line when known). Limits come from
settings (``template_*``; :meth:`TemplateLimits.from_settings`).
"""
from __future__ import annotations

import contextvars
import functools
import math
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer


@dataclass(frozen=True)
class TemplateLimits:
    """What one render may use. ``max_output`` is in UTF-8 bytes (texts built on the way too)."""

    max_output: int = 5_000_000
    max_seconds: float = 5.0
    max_range: int = 100_000
    max_items: int = 100_000
    max_iterations: int = 1_000_000
    max_number_bits: int = 100_000

    @classmethod
    def from_settings(cls, settings: Any) -> "TemplateLimits":
        return cls(max_output=settings.template_max_output_bytes, max_seconds=settings.template_max_seconds,
                   max_range=settings.template_max_range, max_iterations=settings.template_max_loop_steps)


class TemplateLimit(Exception):
    """A template went past a limit. ``kind``: ``too_large`` (output, text or list) or ``timeout`` (time or
    loop steps)."""

    def __init__(self, zh: str, en: str, kind: str = "too_large") -> None:
        self.zh, self.en, self.kind = zh, en, kind
        self.line: int | None = None
        super().__init__(f"{zh} / {en}")


@dataclass
class _Budget:
    limits: TemplateLimits
    deadline: float
    steps: int = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            s = self.limits.max_seconds
            raise TemplateLimit(f"模板渲染超过 {s:g} 秒的上限", f"the template took longer than the {s:g} s limit", "timeout")

    def text(self, n: int, what_zh: str = "文本", what_en: str = "text") -> None:
        if n > self.limits.max_output:
            m = self.limits.max_output
            raise TemplateLimit(f"模板生成的{what_zh}超过 {m:,} 字节的上限", f"the template makes a {what_en} larger than the {m:,} byte limit")

    def items(self, n: int) -> None:
        if n > self.limits.max_items:
            m = self.limits.max_items
            raise TemplateLimit(f"模板生成的列表超过 {m:,} 项的上限", f"the template makes a list longer than the {m:,} item limit")


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("mom_template_budget", default=None)
_DEFAULT = TemplateLimits()


def _budget() -> _Budget:
    b = _BUDGET.get()
    if b is None:     # outside a render (e.g. a filter folded at compile): a fresh budget with the defaults
        b = _Budget(_DEFAULT, time.monotonic() + _DEFAULT.max_seconds)
    b.tick()
    return b


@contextmanager
def budget(limits: TemplateLimits) -> Iterator[_Budget]:
    """The limits of one render (or one check at publish), active for the code inside."""
    b = _Budget(limits, time.monotonic() + limits.max_seconds)
    token = _BUDGET.set(b)
    try:
        yield b
    finally:
        _BUDGET.reset(token)


def weight(v: Any) -> int:
    """About how many characters ``v`` becomes as text (one level into lists)."""
    if isinstance(v, str):
        return len(v)
    if isinstance(v, (list, tuple)):
        return sum(len(x) if isinstance(x, str) else 8 for x in v) + 2 * len(v)
    return 0


_SPEC_NUMBER = re.compile(r"%[-#0 +(\w)]*?(\d+)|%[-#0 +]*\.(\d+)|\{[^{}]*?:[^{}]*?(\d+)[^{}]*\}")


_STAR_OR_NESTED = re.compile(r"%[-#0 +]*\*|%[-#0 +]*\d*\.\*|\{[^{}]*\{")


def _format_widths(fmt: str) -> int:
    """The largest width or precision a %- or {}-format asks for (``'%1000000000d'`` -> 10**9). A width
    taken from the arguments (``'%*d'``, ``'{:{}}'``) is not known here: it counts as too large."""
    if _STAR_OR_NESTED.search(fmt.replace("%%", "").replace("{{", "").replace("}}", "")):
        return 10 ** 12
    best = 0
    for m in _SPEC_NUMBER.finditer(fmt):
        for g in m.groups():
            if g and len(g) < 12:
                best = max(best, int(g))
            elif g:
                return 10 ** 12
    return best


def _check_repeat(b: _Budget, seq: Any, n: Any) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or not isinstance(seq, (str, bytes, list, tuple)):
        return
    if isinstance(seq, (str, bytes)):
        b.text(len(seq) * max(n, 0))
    else:
        b.items(len(seq) * max(n, 0))
        b.text(weight(seq) * max(n, 0))


def _check_power(b: _Budget, a: Any, e: Any) -> None:
    if isinstance(a, (int, float)) and isinstance(e, (int, float)) and abs(a) > 1 and e > 0:
        if e * math.log2(abs(a)) > b.limits.max_number_bits:
            raise TemplateLimit("模板中的乘方结果过大", "a power in the template is too large")


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


def _check_places(b: _Budget, a: Mapping[str, Any]) -> None:
    p = _int_arg(a.get("precision", 0))
    if p is not None and abs(p) > MAX_PLACES:
        raise _refuse(f"小数位数超出范围（round 的位数应在 -{MAX_PLACES} 到 {MAX_PLACES} 之间）",
                      f"the number of decimal places is out of range (round takes -{MAX_PLACES} to {MAX_PLACES})")


def _check_decimals(b: _Budget, a: Mapping[str, Any]) -> None:
    d = _int_arg(a.get("decimals", 2))
    if d is None or not 0 <= d <= MAX_DECIMALS:
        raise _refuse(f"小数位数超出范围（number 的位数应在 0 到 {MAX_DECIMALS} 之间）",
                      f"the number of decimal places is out of range (number takes 0 to {MAX_DECIMALS})")


def _check_center(b: _Budget, a: Mapping[str, Any]) -> None:
    w = _int_arg(a.get("width", 80))
    b.text(max(w or 0, weight(a.get("value"))))


def _check_indent(b: _Budget, a: Mapping[str, Any]) -> None:
    s, w = a.get("s"), a.get("width", 4)
    w = len(w) if isinstance(w, str) else (_int_arg(w) or 0)
    lines = 1 + (s.count("\n") if isinstance(s, str) else 0)
    b.text(weight(s) + lines * max(w, 0))


def _check_wordwrap(b: _Budget, a: Mapping[str, Any]) -> None:
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


def _check_tojson(b: _Budget, a: Mapping[str, Any]) -> None:
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


def _check_urlencode(b: _Budget, a: Mapping[str, Any]) -> None:
    b.text(3 * _text_items(a.get("value")))       # every byte may become %XX


def _check_xmlattr(b: _Budget, a: Mapping[str, Any]) -> None:
    d = a.get("d")
    b.text(6 * _text_items(d) if isinstance(d, Mapping) else 0)   # '"' becomes &#34;


def _check_escape(b: _Budget, a: Mapping[str, Any]) -> None:
    s = next(iter(a.values()), None)
    if isinstance(s, str):
        b.text(len(s) + 4 * sum(s.count(c) for c in "<>&'\""))


def _check_items_arg(key: str, default: int) -> Any:
    def check(b: _Budget, a: Mapping[str, Any]) -> None:
        n = _int_arg(a.get(key, default))
        if n is None or n < 1:
            raise _refuse(f"{key} 至少为 1", f"{key} must be at least 1")
        b.items(n)
    return check


def _check_format(b: _Budget, a: Mapping[str, Any]) -> None:
    v = a.get("value")
    if isinstance(v, str):
        b.text(len(v) + _format_widths(v) + weight(tuple(a.get("args") or ())) + weight(tuple((a.get("kwargs") or {}).values())))
        _check_int_formats(v, tuple(a.get("args") or ()) + tuple((a.get("kwargs") or {}).values()))


def _check_replace_filter(b: _Budget, a: Mapping[str, Any]) -> None:
    s = a.get("s")
    if isinstance(s, str):
        _check_replace(b, s, a.get("old"), a.get("new"))


def _check_join(b: _Budget, a: Mapping[str, Any]) -> None:
    v = a.get("value")
    if isinstance(v, (list, tuple)):
        b.text(weight(v) + len(v) * len(str(a.get("d", ""))))


def _check_short_text(key: str, most: int) -> Any:
    def check(b: _Budget, a: Mapping[str, Any]) -> None:
        v = a.get(key)
        if v is not None and len(str(v)) > most:
            raise _refuse(f"{key} 最多 {most:,} 个字符", f"{key} takes at most {most:,} characters")
    return check


def _check_number_value(b: _Budget, a: Mapping[str, Any]) -> None:
    _check_decimal(next(iter(a.values()), None))


def _check_decimal(v: Any) -> None:
    """A Decimal whose exponent is huge takes minutes to become an int: refused before it does."""
    if isinstance(v, Decimal) and v.is_finite() and v and abs(v.adjusted()) > MAX_DECIMAL_EXPONENT:
        raise TemplateLimit("模板中的数值过大", "a number in the template is too large")


def _check_int_formats(fmt: str, args: tuple[Any, ...]) -> None:
    for v in args:
        _check_decimal(v)


def _nothing(b: _Budget, a: Mapping[str, Any]) -> None:
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
    import inspect
    check = FILTER_CHECKS[name]
    sig = inspect.signature(f)
    skip = 1 if getattr(f, "jinja_pass_arg", None) else 0
    params = list(sig.parameters.values())
    if skip and params and params[0].name in _PASSED:     # (an async variant's signature is its sync one's, without it)
        sig = sig.replace(parameters=params[1:])

    @functools.wraps(f)
    def run(*args: Any, **kwargs: Any) -> Any:
        b = _budget()
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
        _check_result(b, out)
        return out

    return run


def _check_replace(b: _Budget, s: str, old: Any, new: Any) -> None:
    if isinstance(old, str) and isinstance(new, str):
        hits = len(s) + 1 if old == "" else s.count(old)
        b.text(len(s) + hits * max(len(new) - len(old), 0))


def _check_result(b: _Budget, out: Any) -> None:
    if isinstance(out, str):
        b.text(len(out))
    elif isinstance(out, (list, tuple)):
        b.items(len(out))


_STR_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})
_DECIMAL_ATTRIBUTES = frozenset({"is_zero", "is_signed", "is_finite", "real", "imag"})


class _Guard(NodeTransformer):
    """Rewrites the parsed template: every ``for`` iterates through ``environment.guard_loop`` and every
    ``~`` goes through ``environment.bounded_concat`` (both are checked calls in the sandbox)."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Call(nodes.EnvironmentAttribute("guard_loop", lineno=node.lineno), [node.iter], [],
                               None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Call(nodes.EnvironmentAttribute("bounded_concat", lineno=node.lineno),
                          [nodes.Tuple(list(node.nodes), "load", lineno=node.lineno)], [], None, None, lineno=node.lineno)


class _Buffer(list):  # type: ignore[type-arg]
    """The output buffer of a macro, ``{% set %}`` block, ``{% filter %}`` or loop: counts what goes in."""

    __slots__ = ("size", "budget")

    def __init__(self) -> None:
        super().__init__()
        self.size = 0
        self.budget = _budget()

    def append(self, part: Any) -> None:
        self.size += len(part) if isinstance(part, str) else 0
        self.budget.text(self.size)
        super().append(part)

    def extend(self, parts: Any) -> None:
        for p in parts:
            self.append(p)


class _BoundedCodeGenerator(CodeGenerator):
    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.output_buffer()")


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """An immutable Jinja sandbox whose renders are bounded in output, size, steps and time."""

    intercepted_binops = frozenset({"*", "**", "+", "%", "-", "/", "//"})
    code_generator_class = _BoundedCodeGenerator
    output_buffer = _Buffer

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=self._finalize, **options)
        self.globals.pop("lipsum", None)
        self.globals["range"] = self._range
        self.filters = {k: _guarded_filter(k, f) for k, f in self.filters.items() if k in FILTER_CHECKS}
        self.concat = self._join          # buffers of macros, {% set %} blocks, {% filter %}, call blocks

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """As Jinja's sandbox, and no method of a Decimal (as_integer_ratio, scaleb … cost grows with the
        exponent) and no int.to_bytes (allocates its length argument)."""
        if isinstance(obj, Decimal) and attr not in _DECIMAL_ATTRIBUTES:
            return False
        if isinstance(obj, int) and attr == "to_bytes":
            return False
        return super().is_safe_attribute(obj, attr, value)

    def add_filters(self, **filters: Any) -> None:
        """Offer ``filters`` (each must be named in :data:`FILTER_CHECKS`) guarded like Jinja's own."""
        for name, f in filters.items():
            self.filters[name] = _guarded_filter(name, f)

    # -- rewriting and calls
    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        return _Guard().visit(super()._parse(source, name, filename))

    def guard_loop(self, iterable: Any) -> Iterator[Any]:
        """Each step of a ``for`` loop: counted against ``max_iterations`` and the deadline."""
        b = _budget()
        for item in iterable:
            b.steps += 1
            if b.steps > b.limits.max_iterations:
                m = b.limits.max_iterations
                raise TemplateLimit(f"模板循环超过 {m:,} 步的上限", f"the template's loops went past the {m:,} step limit", "timeout")
            if not b.steps & 0xFF:
                b.tick()
            yield item

    def bounded_concat(self, parts: tuple[Any, ...]) -> str:
        b = _budget()
        b.text(sum(weight(p) for p in parts))
        return markup_join(parts) if self.autoescape else str_join(parts)

    def _join(self, parts: Any) -> str:
        parts = list(parts)
        _budget().text(sum(len(p) for p in parts if isinstance(p, str)))
        return "".join(parts)

    def _finalize(self, value: Any) -> Any:
        _budget().text(weight(value))
        return value

    def _range(self, *args: Any) -> range:
        r = range(*args)
        if len(r) > _budget().limits.max_range:
            m = _budget().limits.max_range
            raise TemplateLimit(f"range 最多 {m:,} 个数（现为 {len(r):,}）", f"range holds at most {m:,} numbers ({len(r):,} asked)")
        return r

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        b = _budget()
        target = getattr(__obj, "__wrapped__", __obj)     # the sandbox wraps str.format
        owner = getattr(target, "__self__", None)
        if isinstance(owner, (str, bytes)):
            name = getattr(target, "__name__", "")
            if name in _STR_WIDTH_METHODS and args and isinstance(args[0], int):
                b.text(args[0])
            elif name == "expandtabs":
                b.text(len(owner) * (args[0] if args and isinstance(args[0], int) else 8))
            elif name == "join" and args and isinstance(args[0], (list, tuple)):
                b.text(weight(args[0]) + len(args[0]) * len(owner))
            elif name == "replace" and len(args) >= 2:
                _check_replace(b, owner, args[0], args[1])
            elif name in ("format", "format_map"):
                b.text(len(owner) + _format_widths(owner) + weight(args) + weight(tuple(kwargs.values())))
        out = super().call(__context, __obj, *args, **kwargs)
        _check_result(b, out)
        return out

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        b = _budget()
        if operator == "*":
            _check_repeat(b, left, right)
            _check_repeat(b, right, left)
            if isinstance(left, int) and isinstance(right, int) and \
                    left.bit_length() + right.bit_length() > b.limits.max_number_bits:
                raise TemplateLimit("模板中的乘积过大", "a product in the template is too large")
        elif operator == "**":
            _check_power(b, left, right)
            _check_decimal(left)
        elif operator == "+":
            if isinstance(left, str) and isinstance(right, str):
                b.text(len(left) + len(right))
            elif isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
                b.items(len(left) + len(right))
                b.text(weight(left) + weight(right))
        elif operator == "%" and isinstance(left, str):
            args = tuple(right.values()) if isinstance(right, Mapping) else right if isinstance(right, (tuple, list)) else (right,)
            b.text(len(left) + _format_widths(left) + weight(args))
            _check_int_formats(left, tuple(args))
        out = super().call_binop(context, operator, left, right)
        if isinstance(out, Decimal):      # d * d * …, 1 / (1 / d): a Decimal's exponent grows without a big int
            _check_decimal(out)
        return out


def template_line(exc: BaseException) -> int | None:
    """The template line an exception was raised at (Jinja rewrites the traceback to template lines)."""
    line = getattr(exc, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in ("<template>", "<unknown>"):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render_bounded(template: Any, names: Mapping[str, Any], limits: TemplateLimits) -> str:
    """Render ``template`` (from a :class:`BoundedEnvironment`) streaming, under ``limits``.

    Raises :class:`TemplateLimit` (with ``line`` set) when a limit is reached; other template errors
    propagate as they are."""
    with budget(limits) as b:
        parts: list[str] = []
        size = 0
        try:
            for chunk in template.generate(**names):
                size += len(chunk.encode("utf-8", "surrogatepass"))
                b.text(size, "输出", "output")
                b.tick()
                parts.append(chunk)
        except TemplateLimit as exc:
            exc.line = template_line(exc)
            raise
        except (RecursionError, MemoryError) as exc:
            limit = TemplateLimit("模板递归过深或占用内存过多", "the template recursed too deeply or used too much memory")
            limit.line = template_line(exc)
            raise limit from None
        return "".join(parts)
