"""The bounded Jinja sandbox (print templates, notifications): every way to a huge output or an
endless render found so far is refused quickly, with its template line, and ordinary templates work."""
from __future__ import annotations

import time
import tracemalloc

import pytest
from jinja2 import StrictUndefined

from mom.engines.expressions.templates import BoundedEnvironment, TemplateLimit, TemplateLimits, render_bounded

ENV = BoundedEnvironment(autoescape=True, undefined=StrictUndefined)
LIMITS = TemplateLimits(max_seconds=1.0)


def render(src: str, **names: object) -> str:
    return render_bounded(ENV.from_string(src), names, LIMITS)


@pytest.mark.parametrize("src, kind", [
    ("{{ 'x' * 1000000000 }}", "too_large"),
    ("{{ range(10**12)|list }}", "too_large"),
    ("{{ 'x'|center(1000000000) }}", "too_large"),
    ("{{ 'x'.ljust(1000000000) }}", "too_large"),
    ("{{ '%1000000000d' % 1 }}", "too_large"),
    ("{{ '{:>1000000000}'.format(1) }}", "too_large"),
    ("{{ [1]|batch(1000000000, 'x')|list }}", "too_large"),
    ("{% set s = 'x' * 4000000 %}{{ s ~ s }}", "too_large"),
    ("{% set s = 'x' * 4000000 %}{{ [s, s] }}", "too_large"),
    ("{% set s = 'x' * 4000000 %}{{ [s, s]|join }}", "too_large"),
    ("{% set s = 'x' * 4000000 %}{% set t %}{% for i in range(100) %}{{ s }}{% endfor %}{% endset %}{{ t }}", "too_large"),
    ("{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% else %}xxxxxxxx{% endif %}{% endmacro %}{{ f(40) }}", "timeout"),
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "timeout"),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "too_large"),
])
def test_bombs_are_refused_quickly_and_small(src: str, kind: str) -> None:
    tracemalloc.start()
    t = time.perf_counter()
    with pytest.raises(TemplateLimit) as exc:
        render("first line\n" + src)
    took, peak = time.perf_counter() - t, tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert exc.value.kind == kind and exc.value.line == 2
    assert took < 2.0 and peak < 100_000_000, (took, peak)


def test_compile_does_not_fold_a_bomb() -> None:
    t = time.perf_counter()
    ENV.from_string("{{ 'x' * 1000000000 }}{{ 'y' ~ 'z' * 1000000000 }}")
    assert time.perf_counter() - t < 0.5


def test_ordinary_templates_are_unchanged() -> None:
    src = ("{% for r in rows %}{{ loop.index }}:{{ r.name|upper }}{{ ',' if not loop.last }}{% endfor %} "
           "{{ 'ab' * 3 }} {{ 2 ** 10 }} {{ '%05.1f' % 3.14159 }} {{ 'a' ~ 1 }} {{ [1, 2]|join('-') }} "
           "{{ '<b>' }} {% set t %}{{ 'x'|center(5) }}{% endset %}[{{ t }}] {{ '{:>4}'.format(7) }}")
    out = render(src, rows=[{"name": "a"}, {"name": "b"}])
    assert out == "1:A,2:B ababab 1024 003.1 a1 1-2 &lt;b&gt; [  x  ]    7"


def test_no_lipsum_and_no_internals() -> None:
    with pytest.raises(Exception):
        render("{{ lipsum(100000) }}")
    with pytest.raises(Exception):
        render("{{ ''.__class__.__mro__ }}")
