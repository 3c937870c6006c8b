"""Pre-aggregated reports (issue 4): the summary answers exactly what the source answers, stays
current through create, update (a record moving between groups), delete, restore and import, is used
only when the caller's permissions allow, goes stale when the report or form changes, and refuses
definitions it cannot hold — on SQLite, and on PostgreSQL when MOM_TEST_DATABASE_URL is set."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.integration.test_reports import FORM, ROWS, data, put, report, run  # noqa: F401 - fixture
from tests.integration.wf_helpers import Plant

MEASURES = [{"key": "n", "agg": "count"}, {"key": "failed", "agg": "count", "where": "not passed"},
            {"key": "m_sum", "agg": "sum", "field": "measured"}, {"key": "m_avg", "agg": "avg", "field": "measured"},
            {"key": "m_min", "agg": "min", "field": "measured"}, {"key": "m_max", "agg": "max", "field": "measured"},
            {"key": "m_sd", "agg": "stddev", "field": "measured"}, {"key": "fail_rate", "ratio": ["failed", "n"]},
            {"key": "n_to_date", "running_total": "n"}, {"key": "cost", "agg": "sum", "field": "cost"}]


def pair(p: Plant, user: str = "admin", **params: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same report answered from its summary and from the source (a twin without preaggregate)."""
    return run(p, "t_pre", user, **params), run(p, "t_src", user, **params)


def define(p: Plant, **over: Any) -> None:
    spec = {"name": "t_pre", "preaggregate": True, "measures": MEASURES,
            "dimensions": [{"key": "day", "field": "tested_at", "bucket": "day"}, {"key": "line", "field": "line"},
                           {"key": "product", "field": "product"}],
            "permissions": {"roles": ["qc_inspector", "qc_manager"]}}
    base = report(**{**spec, **over})
    out = put(p, base)
    assert out["preaggregate"]["table"] == "mom_rpt_t_pre" and out["preaggregate"]["rows"] > 0
    twin = copy.deepcopy(base)
    twin.update(name="t_src")
    twin.pop("preaggregate")
    put(p, twin)


def same(pre: dict[str, Any], src: dict[str, Any]) -> None:
    assert pre["preaggregated"] is True, pre.get("preaggregate_reason")
    assert [c["key"] for c in pre["columns"]] == [c["key"] for c in src["columns"]]
    assert len(pre["rows"]) == len(src["rows"]) and src["rows"]
    for a, b in zip(pre["rows"], src["rows"]):
        assert a.keys() == b.keys()
        for k in a:
            if isinstance(b[k], float):
                assert a[k] == pytest.approx(b[k], rel=1e-9, abs=1e-9), k
            else:
                assert a[k] == b[k], k


def test_summary_answers_like_the_source_and_follows_every_write(data: Plant) -> None:
    define(data)
    same(*pair(data))
    c, h = data.client, data.h("qcm")
    # create
    r = c.post("/api/records/test_result", headers=h, json={"line": "L2", "defect": "气孔", "measured": "10.4", "passed": False,
                                                           "tested_at": "2026-11-05T03:00:00Z", "product": "MAT-1001"})
    assert r.status_code == 201, r.text
    rec = r.json()
    same(*pair(data))
    # update that moves the record to another day and line (two groups change)
    r = c.patch(f"/api/records/test_result/{rec['id']}", headers=h,
                json={"line": "L3", "tested_at": "2026-11-02T02:00:00Z", "measured": "9.7", "row_version": rec["row_version"]})
    assert r.status_code == 200, r.text
    pre, src = pair(data)
    same(pre, src)
    assert not any(x["day"] == "2026-11-05" for x in pre["rows"])
    # delete, then restore
    assert c.delete(f"/api/records/test_result/{rec['id']}", headers=h).status_code == 200
    same(*pair(data))
    assert c.post(f"/api/records/test_result/{rec['id']}/restore", headers=h).status_code == 200
    same(*pair(data))
    # an import of many rows (a batch write)
    lines = ["line,defect,measured,passed,tested_at,cost"] + [
        f"L{1 + i % 3},气孔,{10 + i / 100:.2f},{'1' if i % 4 else '0'},2026-11-{1 + i % 20:02d} 08:{i % 60:02d},{i % 7}" for i in range(120)]
    r = c.post("/api/records/test_result/import", headers=h,
               files={"file": ("rows.csv", "\n".join(lines).encode(), "text/csv")}, data={"mode": "all"})
    assert r.status_code == 200, r.text
    same(*pair(data))
    # a parameter narrows both the same way
    same(*pair(data, period="2026-11-02,2026-11-03"))


def test_summary_is_used_only_where_permissions_allow(data: Plant) -> None:
    """qc1 reads only their department's rows and may not see cost: a summary measure on cost would
    leak it, so their run falls back to the source; a report without it serves them from the summary
    with their department's numbers only."""
    define(data)
    pre, src = pair(data, user="qc1")
    assert pre["preaggregated"] is False and "cost" in pre["preaggregate_reason"]
    assert [r["n"] for r in pre["rows"]] == [r["n"] for r in src["rows"]]
    assert all(r["cost"] is None for r in pre["rows"])
    define(data, **{"measures": [m for m in MEASURES if m["key"] != "cost"]})
    pre, src = pair(data, user="qc1")
    same(pre, src)
    assert sum(r["n"] for r in pre["rows"]) == sum(1 for *_x, who in ROWS if who == "qc1")


def test_a_changed_form_makes_the_summary_stale_until_refreshed(data: Plant, cli) -> None:  # type: ignore[no-untyped-def]
    define(data)
    form = copy.deepcopy(FORM)
    form["fields"].append({"id": "t9", "key": "note", "type": "text"})
    assert data.client.put("/api/forms/test_result", json=form, headers=data.h("admin")).status_code == 200
    pre, src = pair(data)
    assert pre["preaggregated"] is False and "stale" in pre["preaggregate_reason"]
    assert pre["rows"] == src["rows"]
    res = cli("report", "refresh", "t_pre")
    assert res.exit_code == 0, res.output
    same(*pair(data))


def test_definitions_the_summary_cannot_hold_are_refused_with_paths(data: Plant) -> None:
    bad = report(name="t_bad", preaggregate=True,
                 dimensions=[{"key": "hour", "field": "tested_at", "bucket": "hour"}, {"key": "grade", "field": "product.name"}],
                 measures=[{"key": "kinds", "agg": "count_distinct", "field": "defect"}])
    r = data.client.put("/api/reports/t_bad", json=bad, headers=data.h("admin"))
    assert r.status_code == 422, r.text
    paths = {p["path"] for p in r.json()["problems"]}
    assert {"/dimensions/0/bucket", "/dimensions/1/field", "/measures/0/agg"} <= paths
    assert all(p["code"] == "preaggregate" for p in r.json()["problems"])
