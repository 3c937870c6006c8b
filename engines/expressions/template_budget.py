"""The budget of one template render (issue 16, item 7): limits, the refusal, and the size arithmetic
the bounded environment (templates.py) and its filter checks (template_filters.py) share."""
from __future__ import annotations

import contextvars
import math
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from mom.platform.errors import MomError


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


class TemplateLimit(MomError):
    """A template went past a limit. ``kind``: ``too_large`` (output, text or list) or ``timeout`` (time or
    loop steps). Its code is ``too_large`` (413) for sizes, ``invalid_input`` (422) otherwise."""

    code = "too_large"

    def __init__(self, zh: str, en: str, kind: str = "too_large") -> None:
        super().__init__(zh, en)
        self.kind = kind
        self.code = "too_large" if kind == "too_large" else "invalid_input"
        self.line: int | None = None


@dataclass
class Budget:
    """What one render has used so far against its limits; each check raises ``TemplateLimit`` when past one."""

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


_BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("mom_template_budget", default=None)
_DEFAULT = TemplateLimits()


def current_budget() -> Budget:
    """The budget of the render under way (checked against its deadline first)."""
    b = _BUDGET.get()
    if b is None:     # outside a render (e.g. a filter folded at compile): a fresh budget with the defaults
        b = Budget(_DEFAULT, time.monotonic() + _DEFAULT.max_seconds)
    b.tick()
    return b


@contextmanager
def budget(limits: TemplateLimits) -> Iterator[Budget]:
    """The limits of one render (or one check at publish), active for the code inside."""
    b = Budget(limits, time.monotonic() + limits.max_seconds)
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


def format_widths(fmt: str) -> int:
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


def check_repeat(b: Budget, seq: Any, n: Any) -> None:
    """``seq * n``: the text or list it would make stays within ``b``."""
    if isinstance(n, bool) or not isinstance(n, int) or not isinstance(seq, (str, bytes, list, tuple)):
        return
    if isinstance(seq, (str, bytes)):
        b.text(len(seq) * max(n, 0))
    else:
        b.items(len(seq) * max(n, 0))
        b.text(weight(seq) * max(n, 0))


def check_power(b: Budget, a: Any, e: Any) -> None:
    """``a ** e``: the number it would make stays within ``b``'s bits."""
    if isinstance(a, (int, float)) and isinstance(e, (int, float)) and abs(a) > 1 and e > 0:
        if e * math.log2(abs(a)) > b.limits.max_number_bits:
            raise TemplateLimit("模板中的乘方结果过大", "a power in the template is too large")


def check_replace(b: Budget, s: str, old: Any, new: Any) -> None:
    """``s.replace(old, new)``: the text it would make stays within ``b``."""
    if isinstance(old, str) and isinstance(new, str):
        hits = len(s) + 1 if old == "" else s.count(old)
        b.text(len(s) + hits * max(len(new) - len(old), 0))


def check_result(b: Budget, out: Any) -> None:
    """A value a call returned: its text or list stays within ``b``."""
    if isinstance(out, str):
        b.text(len(out))
    elif isinstance(out, (list, tuple)):
        b.items(len(out))
