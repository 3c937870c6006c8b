"""Report measures come from one registry fed by the ``mom_report_measures`` hook: a plug-in's
aggregate is usable in a report exactly like a built-in one (engine API, no HTTP)."""
from __future__ import annotations

import types
from typing import Any

import pytest
import sqlalchemy as sa

from mom.engines.forms.store import FormRegistry, publish
from mom.engines.records import service as records
from mom.engines.records.context import Ctx
from mom.engines.reports.build import build
from mom.engines.reports.measures import Measure, MeasureInput, from_manager, registry
from mom.platform.errors import InvalidInput
from mom.platform.hookspecs import hookimpl
from mom.platform.plugins import new_manager

FORM = {"format": "mom.form/1", "name": "gauge", "fields": [
    {"id": "a", "key": "line", "type": "text"},
    {"id": "b", "key": "value", "type": "decimal", "precision": 10, "scale": 2}],
    "permissions": [{"role": "*", "actions": ["create", "read"]}]}
REPORT = {"format": "mom.report/1", "name": "spread_by_line", "source": "gauge",
          "dimensions": [{"key": "line", "field": "line"}],
          "measures": [{"key": "spread", "agg": "spread", "field": "value"},
                       {"key": "n", "agg": "count"}]}


def _spread(inp: MeasureInput) -> Any:
    return sa.func.max(inp.filtered()) - sa.func.min(inp.filtered())


def _plugin() -> types.ModuleType:
    """A throw-away plug-in module registering one aggregate, ``spread`` (max - min)."""
    mod = types.ModuleType("spread_measure_plugin")

    @hookimpl
    def mom_report_measures() -> list[Measure]:
        return [Measure("spread", {"*": _spread}, {"zh-CN": "极差", "en": "a range"})]

    mod.mom_report_measures = mom_report_measures  # type: ignore[attr-defined]
    return mod


@pytest.fixture
def gauge(engine: sa.engine.Engine) -> FormRegistry:
    forms = FormRegistry()
    with engine.begin() as conn:
        publish(conn, FORM)
        ctx = Ctx.system()
        records.create_records(conn=conn, registry=forms, ctx=ctx, form="gauge",
                               docs=[{"line": "L1", "value": "1.5"}, {"line": "L1", "value": "4.0"},
                                     {"line": "L2", "value": "2.0"}])
    return forms


def test_a_plugin_measure_is_usable_in_a_report(engine: sa.engine.Engine, gauge: FormRegistry) -> None:
    pm = new_manager(entry_points=False)
    pm.register(_plugin(), name="spread_measure_plugin")
    table = from_manager(pm)
    assert {"spread", "count", "sum"} <= set(table.keys())     # the core's own measures come through the same hook
    with engine.connect() as conn:
        built = build(conn, gauge, Ctx.system(), REPORT, {}, measures=table)
        rows = [dict(r) for r in conn.execute(built.statement).mappings()]
    assert [(r["line"], float(r["spread"]), r["n"]) for r in rows] == [("L1", 2.5, 2), ("L2", 0.0, 1)]
    assert [c.type for c in built.columns] == ["text", "number", "integer"]


def test_an_unregistered_measure_is_refused_at_its_path(engine: sa.engine.Engine, gauge: FormRegistry) -> None:
    assert registry().get("spread") is None                    # the process's table knows only what is registered
    with engine.connect() as conn, pytest.raises(InvalidInput) as exc:
        build(conn, gauge, Ctx.system(), REPORT, {}, dry=True)
    (problem,) = exc.value.problems
    assert problem.path == "/measures/0/agg" and problem.code == "unknown_agg"
    assert "spread" in problem.en and "count_distinct" in problem.en


def _manager(*measures: Measure) -> Any:
    """A fresh manager with the core and one plug-in, ``bad_measures``, registering ``measures``."""
    mod = types.ModuleType("bad_measures")

    @hookimpl
    def mom_report_measures() -> list[Measure]:
        return list(measures)

    mod.mom_report_measures = mom_report_measures  # type: ignore[attr-defined]
    pm = new_manager(entry_points=False)
    pm.register(mod, name="bad_measures")
    return pm


@pytest.mark.parametrize("measure, says", [
    (Measure("pgonly", {"postgresql": _spread}), "has no SQL for sqlite"),
    (Measure("bogus", {"*": _spread}, result="bogus"), "result must be one of"),
    (Measure("Bad Key!", {"*": _spread}), "the key must be"),
    (Measure("nosql", {"*": "max(x)"}), "sql must map a dialect to a function"),   # type: ignore[dict-item]
    (Measure("odd", {"*": _spread}, post="cube"), "post must be"),
])
def test_a_badly_made_plugin_measure_is_refused_when_the_table_is_built(measure: Measure, says: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        from_manager(_manager(measure))
    assert "bad_measures" in exc.value.en and says in exc.value.en and "插件 bad_measures" in exc.value.zh


def test_a_measure_with_each_dialect_needs_no_default(engine: sa.engine.Engine, gauge: FormRegistry) -> None:
    table = from_manager(_manager(Measure("spread", {"sqlite": _spread, "postgresql": _spread})))
    with engine.connect() as conn:
        built = build(conn, gauge, Ctx.system(), REPORT, {}, measures=table)
        assert len(conn.execute(built.statement).all()) == 2


@pytest.mark.parametrize("fn, says", [(lambda inp: 1 / 0, "ZeroDivisionError"),
                                      (lambda inp: "hello", "not a SQL expression")])
def test_a_plugin_measure_failing_to_make_its_sql_is_refused_naming_it(engine: sa.engine.Engine, gauge: FormRegistry,
                                                                        fn: Any, says: str) -> None:
    table = from_manager(_manager(Measure("spread", {"*": fn})))
    with engine.connect() as conn, pytest.raises(InvalidInput) as exc:
        build(conn, gauge, Ctx.system(), REPORT, {}, measures=table)
    assert "spread" in exc.value.en and says in exc.value.en
