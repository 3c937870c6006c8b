"""Report aggregates: ONE table of ``Measure`` objects, each with its SQL per dialect.

A report measure ``{"key": …, "agg": "<key>", "field" | "expr": …, "where": …}`` names one of these by
``agg``. The core's aggregates (count, count_distinct, sum, avg, min, max, stddev, percentile) are
registered through the ``mom_report_measures`` hook below, exactly as a plug-in's would be; the
table is resolved lazily (on first use) from the process's plug-in manager, or from the manager a
caller passes (:func:`registry`).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pluggy
import sqlalchemy as sa

from mom.platform.errors import InvalidInput, MomError
from mom.platform.hookspecs import hookimpl
from mom.platform.plugins import by_key, plugin_manager

DEFAULT = "*"       # the SQL used on a dialect that has no variant of its own


@dataclass(frozen=True)
class MeasureInput:
    """What an aggregate's SQL is made of, over the inner select of one report run."""

    value: Any                      # the measure's field or expr (None: a plain count)
    where: Any                      # its ``where`` condition, or None
    definition: Mapping[str, Any]   # the measure as written (``p`` of a percentile …)
    rank: tuple[Any, Any] | None = None   # (row number, non-null count) in its group, for ``ranked_on`` dialects

    def filtered(self, default: Any = None) -> Any:
        """The value where the condition holds (NULL elsewhere); ``default`` stands for a missing value."""
        val = self.value if self.value is not None else default
        return sa.case((self.where, val)) if self.where is not None else val


@dataclass(frozen=True, eq=False)
class Measure:
    """One aggregate a report may name in ``agg``.

    ``sql`` maps a dialect name (``sqlite``, ``postgresql``; ``*`` for any other) to a function of a
    :class:`MeasureInput` giving the aggregate expression. ``ranked_on``: dialects on which the values
    are first ranked inside their group (one more window layer of the same statement; the function
    receives ``rank``), e.g. a percentile on SQLite.
    """

    key: str
    sql: Mapping[str, Callable[[MeasureInput], Any]]
    label: Mapping[str, str] = field(default_factory=dict)   # {"zh-CN", "en"}: how messages name it
    needs_value: bool = True        # field or expr required (a count counts rows without one)
    needs_p: bool = False           # a fraction ``p`` (0 < p < 1) required
    additive: bool = False          # a running total or a share may be taken of it
    result: str = "number"          # integer | number | field (the field's type when it is an integer)
    post: str | None = None         # "sqrt": the statement returns the square of the value shown
    ranked_on: tuple[str, ...] = ()

    def expression(self, dialect: str, inp: MeasureInput) -> Any:
        """The aggregate's SQL on ``dialect``. A plug-in's function that raises, or gives something
        that is not a SQL expression, is refused with an InvalidInput naming the measure (not a 500)."""
        fn = self.sql.get(dialect) or self.sql.get(DEFAULT)
        if fn is None:
            raise _bad(self.key, None, f"没有 {dialect} 的 SQL", f"has no SQL for {dialect}")
        try:
            out = fn(inp)
        except MomError:
            raise
        except Exception as exc:   # a plug-in's bug, named with its measure
            raise _bad(self.key, None, f"生成 SQL 时出错（{type(exc).__name__}: {exc}）",
                       f"failed to make its SQL ({type(exc).__name__}: {exc})") from exc
        if not isinstance(out, sa.sql.ClauseElement):
            raise _bad(self.key, None, f"给出的不是 SQL 表达式（{type(out).__name__}）",
                       f"gave something that is not a SQL expression ({type(out).__name__})")
        return out


DIALECTS = ("sqlite", "postgresql")     # the databases the product runs on: each needs a variant (or ``*``)
RESULTS = ("integer", "number", "field")
KEY = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_KEY = 40                            # as ``agg`` in the report schema


def _bad(key: Any, plugin: str | None, zh: str, en: str) -> InvalidInput:
    who_zh = f"插件 {plugin} 的" if plugin else ""
    who_en = f" of plug-in {plugin}" if plugin else ""
    return InvalidInput(f"{who_zh}报表聚合 {key!s:.60}：{zh}", f"report measure {key!s:.60}{who_en}: {en}")


def check(m: Any, plugin: str | None = None) -> Measure:
    """``m`` if it is a well-made measure; else an InvalidInput naming ``plugin`` and the measure: a
    Measure, key ``^[a-z][a-z0-9_]*$`` (at most 40), SQL for every supported dialect (or ``*``), each a
    function, a known ``result`` and ``post``."""
    if not isinstance(m, Measure):
        raise _bad(type(m).__name__, plugin, "不是 Measure 对象", "is not a Measure")
    if not isinstance(m.key, str) or not KEY.match(m.key) or len(m.key) > MAX_KEY:
        raise _bad(repr(m.key), plugin, "键须为小写字母开头的小写字母、数字、下划线（至多 40 个）",
                   "the key must be lower-case letters, digits and _ starting with a letter (at most 40)")
    if not isinstance(m.sql, Mapping) or not all(callable(f) for f in m.sql.values()):
        raise _bad(m.key, plugin, "sql 须是 方言 -> 函数 的映射", "sql must map a dialect to a function")
    missing = [d for d in DIALECTS if d not in m.sql] if DEFAULT not in m.sql else []
    if missing:
        raise _bad(m.key, plugin, f"缺少 {', '.join(missing)} 的 SQL；请加上它们或 \"*\"（任何数据库）",
                   f"has no SQL for {', '.join(missing)}; add them or \"*\" (any database)")
    if m.result not in RESULTS:
        raise _bad(m.key, plugin, f"result 须是 {', '.join(RESULTS)} 之一，而不是 {m.result!r}",
                   f"result must be one of {', '.join(RESULTS)}, not {m.result!r}")
    if m.post not in (None, "sqrt"):
        raise _bad(m.key, plugin, f"post 只能是 \"sqrt\" 或不写，而不是 {m.post!r}", f"post must be \"sqrt\" or absent, not {m.post!r}")
    if not all(d in m.sql or DEFAULT in m.sql for d in m.ranked_on):
        raise _bad(m.key, plugin, "ranked_on 的方言须有 SQL", "each dialect in ranked_on needs its SQL")
    return m


def _checked(answer: Any, plugin: str | None = None) -> list[Measure] | Mapping[str, Measure]:
    """One plug-in's answer (a list of measures, or ``{key: measure}``), every measure checked."""
    if isinstance(answer, Mapping):
        for m in answer.values():
            check(m, plugin)
        return answer
    if not isinstance(answer, Iterable) or isinstance(answer, (str, bytes)):
        raise _bad("?", plugin, "mom_report_measures 须返回 Measure 的列表", "mom_report_measures must return a list of Measures")
    return [check(m, plugin) for m in answer]


class MeasureTable:
    """Measures by key, as the plug-ins registered them (two with one key: a ``Conflict``; a badly
    made one: an InvalidInput naming it, see :func:`check`)."""

    def __init__(self, answers: Iterable[Iterable[Measure] | None]) -> None:
        checked = [_checked(answer) for answer in answers if answer is not None]
        self.by_key: dict[str, Measure] = by_key(checked, what=("报表聚合", "report measure"))

    def get(self, key: str) -> Measure | None:
        """The measure named ``key``, or None."""
        return self.by_key.get(key)

    def keys(self) -> list[str]:
        """Every registered key, sorted."""
        return sorted(self.by_key)


def from_manager(pm: pluggy.PluginManager) -> MeasureTable:
    """The measures every plug-in of ``pm`` registers, each checked (:func:`check`, naming the plug-in)
    when the table is built (build it once and keep it: each call asks the plug-ins again)."""
    answers = []
    for impl in reversed(pm.hook.mom_report_measures.get_hookimpls()):     # the order a hook call uses
        got = impl.function()
        if got is not None:
            answers.append(_checked(got, impl.plugin_name))
    return MeasureTable(answers)


@lru_cache(maxsize=1)
def _default() -> MeasureTable:
    return from_manager(plugin_manager())


def registry(pm: pluggy.PluginManager | None = None) -> MeasureTable:
    """The measure table of ``pm`` (default: the process's plug-in manager, built on first use)."""
    return _default() if pm is None else from_manager(pm)


# ---------------------------------------------------------------------- the core's aggregates
def _count(inp: MeasureInput) -> Any:
    if inp.where is not None:
        return sa.func.count(inp.filtered(sa.literal(1)))
    return sa.func.count(inp.value if inp.value is not None else sa.literal_column("*"))


def _stddev(inp: MeasureInput) -> Any:
    """The sample variance; the square root is taken on the result (``post="sqrt"``)."""
    arg = inp.filtered()
    x = arg * sa.literal(1.0)
    n = sa.func.count(arg)
    # typed as a float: it must not take the field's decimal type (rounded to its scale)
    return sa.type_coerce((sa.func.sum(x * x) - sa.func.sum(x) * sa.func.sum(x) / sa.func.nullif(n, 0))
                          / sa.func.nullif(n - 1, 0), sa.Float)


def _percentile_ranked(inp: MeasureInput) -> Any:
    """SQLite has no percentile_cont: interpolate between the two ranks around (n - 1)·p."""
    assert inp.rank is not None
    rn, n = inp.rank
    k = (n - 1) * sa.literal(float(inp.definition["p"]))
    lo = sa.cast(k, sa.Integer) + 1
    frac = k - sa.cast(k, sa.Integer)
    x = inp.filtered() * sa.literal(1.0)
    return sa.func.sum(sa.case((rn == lo, x * (1 - frac)), (rn == lo + 1, x * frac)))


def _plain(name: str) -> Callable[[MeasureInput], Any]:
    return lambda inp: getattr(sa.func, name)(inp.filtered())


CORE: tuple[Measure, ...] = (
    Measure("count", {DEFAULT: _count}, {"zh-CN": "计数", "en": "a count"}, needs_value=False, additive=True,
            result="integer"),
    Measure("count_distinct", {DEFAULT: lambda inp: sa.func.count(sa.distinct(inp.filtered()))},
            {"zh-CN": "去重计数", "en": "a distinct count"}, result="integer"),
    Measure("sum", {DEFAULT: _plain("sum")}, {"zh-CN": "合计", "en": "a sum"}, additive=True, result="field"),
    Measure("avg", {DEFAULT: _plain("avg")}, {"zh-CN": "平均值", "en": "an average"}),
    Measure("min", {DEFAULT: _plain("min")}, {"zh-CN": "最小值", "en": "a minimum"}, result="field"),
    Measure("max", {DEFAULT: _plain("max")}, {"zh-CN": "最大值", "en": "a maximum"}, result="field"),
    Measure("stddev", {DEFAULT: _stddev}, {"zh-CN": "标准差", "en": "a standard deviation"}, post="sqrt"),
    Measure("percentile", {"sqlite": _percentile_ranked,
                           DEFAULT: lambda inp: sa.func.percentile_cont(float(inp.definition["p"])).within_group(inp.filtered())},
            {"zh-CN": "百分位数", "en": "a percentile"}, needs_p=True, ranked_on=("sqlite",)),
)


@hookimpl
def mom_report_measures() -> Iterable[Measure]:
    """The core's report aggregates."""
    return CORE
