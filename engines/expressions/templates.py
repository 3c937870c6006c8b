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
- every filter's arguments and worst-case output (template_filters.py; a filter not listed there is
  not offered) and the width arguments of the ``str`` methods are checked before they run.

A refusal is :class:`TemplateLimit` (bilingual, with the template line when known). Limits come from
settings (``template_*``; :meth:`TemplateLimits.from_settings`).
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from mom.engines.expressions.template_budget import (  # noqa: F401 - TemplateLimits, TemplateLimit, budget, weight are this module's API
    TemplateLimit, TemplateLimits, current_budget, check_power, check_repeat, check_replace, check_result,
    format_widths, budget, weight)
from mom.engines.expressions.template_filters import (  # noqa: F401
    FILTER_CHECKS, _check_decimal, _check_int_formats, _guarded_filter)


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
        self.budget = current_budget()

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
        b = current_budget()
        for item in iterable:
            b.steps += 1
            if b.steps > b.limits.max_iterations:
                m = b.limits.max_iterations
                raise TemplateLimit(f"模板循环超过 {m:,} 步的上限", f"the template's loops went past the {m:,} step limit", "timeout")
            if not b.steps & 0xFF:
                b.tick()
            yield item

    def bounded_concat(self, parts: tuple[Any, ...]) -> str:
        b = current_budget()
        b.text(sum(weight(p) for p in parts))
        return markup_join(parts) if self.autoescape else str_join(parts)

    def _join(self, parts: Any) -> str:
        parts = list(parts)
        current_budget().text(sum(len(p) for p in parts if isinstance(p, str)))
        return "".join(parts)

    def _finalize(self, value: Any) -> Any:
        current_budget().text(weight(value))
        return value

    def _range(self, *args: Any) -> range:
        r = range(*args)
        if len(r) > current_budget().limits.max_range:
            m = current_budget().limits.max_range
            raise TemplateLimit(f"range 最多 {m:,} 个数（现为 {len(r):,}）", f"range holds at most {m:,} numbers ({len(r):,} asked)")
        return r

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        b = current_budget()
        target = getattr(__obj, "__wrapped__", __obj)     # the sandbox wraps str.format
        owner = getattr(target, "__self__", None)
        if isinstance(owner, (str, bytes)):
            name = getattr(target, "__name__", "")
            if name in _STR_WIDTH_METHODS and args and isinstance(args[0], int):
                b.text(args[0])
            elif name == "expandtabs":
                b.text(len(owner) * (args[0] if args and isinstance(args[0], int) else 8))
            elif name == "translate" and args and isinstance(args[0], Mapping):   # each character may become a text
                b.text(len(owner) * max([len(v) for v in args[0].values() if isinstance(v, (str, bytes))] + [1]))
            elif name == "join" and args and isinstance(args[0], (list, tuple)):
                b.text(weight(args[0]) + len(args[0]) * len(owner))
            elif name == "replace" and len(args) >= 2:
                check_replace(b, owner, args[0], args[1])
            elif name in ("format", "format_map"):
                b.text(len(owner) + format_widths(owner) + weight(args) + weight(tuple(kwargs.values())))
        out = super().call(__context, __obj, *args, **kwargs)
        check_result(b, out)
        return out

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        b = current_budget()
        if operator == "*":
            check_repeat(b, left, right)
            check_repeat(b, right, left)
            if isinstance(left, int) and isinstance(right, int) and \
                    left.bit_length() + right.bit_length() > b.limits.max_number_bits:
                raise TemplateLimit("模板中的乘积过大", "a product in the template is too large")
        elif operator == "**":
            check_power(b, left, right)
            _check_decimal(left)
        elif operator == "+":
            if isinstance(left, str) and isinstance(right, str):
                b.text(len(left) + len(right))
            elif isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
                b.items(len(left) + len(right))
                b.text(weight(left) + weight(right))
        elif operator == "%" and isinstance(left, str):
            args = tuple(right.values()) if isinstance(right, Mapping) else right if isinstance(right, (tuple, list)) else (right,)
            b.text(len(left) + format_widths(left) + weight(args))
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
