"""Reports end to end through the API (SQLite, and PostgreSQL when MOM_TEST_DATABASE_URL is set):
numbers checked against the data, permission parity, buckets in the plant zone, top-N, pivot, drill,
exports, the scan guard and bad input."""
from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.integration.wf_helpers import Plant

FORM = {
    "format": "mom.form/1", "name": "test_result", "label": {"zh-CN": "测试记录", "en": "Test result"},
    "fields": [
        {"id": "t1", "key": "line", "type": "select", "label": {"zh-CN": "产线", "en": "Line"},
         "options": [{"value": "L1", "label": {"zh-CN": "一线", "en": "Line 1"}}, {"value": "L2", "label": {"zh-CN": "二线", "en": "Line 2"}},
                     {"value": "L3", "label": {"zh-CN": "三线", "en": "Line 3"}}]},
        {"id": "t2", "key": "defect", "type": "text", "label": {"zh-CN": "缺陷", "en": "Defect"}},
        {"id": "t3", "key": "measured", "type": "decimal", "precision": 10, "scale": 3, "label": {"zh-CN": "测量值", "en": "Measured"}},
        {"id": "t4", "key": "passed", "type": "boolean", "label": {"zh-CN": "通过", "en": "Passed"}},
        {"id": "t5", "key": "tested_at", "type": "datetime", "label": {"zh-CN": "测试时间", "en": "Tested at"}},
        {"id": "t6", "key": "cost", "type": "decimal", "precision": 10, "scale": 2, "label": {"zh-CN": "成本", "en": "Cost"}},
        {"id": "t7", "key": "product", "type": "reference", "form": "item", "display_field": "code", "label": {"zh-CN": "产品", "en": "Product"}},
    ],
    "indexes": [["tested_at"]],
    "permissions": [
        {"role": "qc_inspector", "actions": ["create", "read"], "scope": "department", "fields": {"cost": "hidden"}},
        {"role": "qc_manager", "actions": ["create", "read", "update", "delete"], "scope": "all"},
    ],
}

# (line, defect, measured, passed, tested_at UTC, cost, product, who creates it)
ROWS = [
    ("L1", "气孔", "10.100", True, "2026-11-02T01:00:00Z", "5.00", "MAT-1001", "qc1"),
    ("L1", "气孔", "10.300", False, "2026-11-02T15:30:00Z", "7.00", "MAT-1001", "qc1"),   # 23:30 local, night shift
    ("L1", "砂眼", "9.900", True, "2026-11-02T16:30:00Z", "4.00", "MAT-1002", "qcm"),    # 00:30 local on the 3rd
    ("L2", "裂纹", "10.000", False, "2026-11-03T02:00:00Z", "9.00", "MAT-1002", "qcm"),
    ("L2", "气孔", "10.200", True, "2026-11-03T03:00:00Z", "6.00", "MAT-1003", "qc1"),
    ("L3", "尺寸", "10.050", True, "2026-11-04T05:00:00Z", "3.00", "MAT-1003", "qcm"),
    ("L3", "气孔", "9.800", False, "2026-11-04T06:00:00Z", "8.00", None, "qcm"),
]


def report(**over: Any) -> dict[str, Any]:
    base = {"format": "mom.report/1", "name": "t_report", "source": "test_result",
            "params": [{"key": "period", "type": "date_range", "default": "2026-11-01,2026-11-30"}],
            "filters": [{"field": "tested_at", "op": "between", "param": "period"}],
            "dimensions": [{"key": "line", "field": "line"}],
            "measures": [{"key": "n", "agg": "count"}]}
    base.update(over)
    return base


@pytest.fixture
def data(plant: Plant) -> Plant:
    c = plant.client
    assert c.put("/api/forms/test_result", json=FORM, headers=plant.h("admin")).status_code == 200
    for line, defect, m, ok, at, cost, product, who in ROWS:
        body = {"line": line, "defect": defect, "measured": m, "passed": ok, "tested_at": at, "product": product}
        r = c.post("/api/records/test_result", json=body, headers=plant.h(who))
        assert r.status_code == 201, r.text
        doc = r.json()      # cost is hidden from the inspector: the manager fills it in
        r = c.patch(f"/api/records/test_result/{doc['id']}", json={"cost": cost, "row_version": doc["row_version"]},
                    headers=plant.h("qcm"))
        assert r.status_code == 200, r.text
    return plant


def put(p: Plant, definition: dict[str, Any], expect: int = 200) -> dict[str, Any]:
    r = p.client.put(f"/api/reports/{definition['name']}", json=definition, headers=p.h("admin"))
    assert r.status_code == expect, r.text
    return r.json()


def run(p: Plant, name: str = "t_report", user: str = "admin", expect: int = 200, **params: Any) -> dict[str, Any]:
    r = p.client.get(f"/api/reports/{name}/data", params=params, headers=p.h(user))
    assert r.status_code == expect, r.text
    return r.json()


def test_aggregates_ratios_and_conditional_measures(data: Plant) -> None:
    put(data, report(measures=[
        {"key": "n", "agg": "count"},
        {"key": "failed", "agg": "count", "where": "not passed"},
        {"key": "fail_rate", "ratio": ["failed", "n"], "format": "percent"},
        {"key": "avg_m", "agg": "avg", "field": "measured"},
        {"key": "min_m", "agg": "min", "field": "measured"},
        {"key": "max_m", "agg": "max", "field": "measured"},
        {"key": "cost", "agg": "sum", "field": "cost"},
        {"key": "defects", "agg": "count_distinct", "field": "defect"},
        {"key": "sd", "agg": "stddev", "field": "measured", "decimals": 6},
        {"key": "spread", "agg": "max", "expr": "measured - 10", "decimals": 3},
    ]))
    res = run(data)
    by = {r["line"]: r for r in res["rows"]}
    assert [r["line"] for r in res["rows"]] == ["L1", "L2", "L3"]
    assert by["L1"]["n"] == 3 and by["L1"]["failed"] == 1 and by["L1"]["fail_rate"] == pytest.approx(1 / 3, abs=1e-6)
    assert by["L1"]["avg_m"] == pytest.approx((10.1 + 10.3 + 9.9) / 3, abs=1e-6)
    assert by["L2"]["min_m"] == pytest.approx(10.0) and by["L2"]["max_m"] == pytest.approx(10.2)
    assert by["L3"]["cost"] == pytest.approx(11.0) and by["L1"]["defects"] == 2
    import statistics
    assert by["L1"]["sd"] == pytest.approx(statistics.stdev([10.1, 10.3, 9.9]), abs=1e-6)
    assert by["L1"]["spread"] == pytest.approx(0.3, abs=1e-6)
    assert {c["key"]: c["kind"] for c in res["columns"]}["fail_rate"] == "measure"
    assert res["columns"][0]["options"]["L1"] == {"zh-CN": "一线", "en": "Line 1"}


def test_row_scope_and_hidden_fields_inside_the_sql(data: Plant) -> None:
    """qc1 (department QC-IQC) sees only the rows created in their department; cost is hidden from
    them, so its sum is empty and a filter on it cannot reveal anything."""
    put(data, report(measures=[{"key": "n", "agg": "count"}, {"key": "cost", "agg": "sum", "field": "cost"},
                               {"key": "pricey", "agg": "count", "where": "cost > 6"}],
                     permissions={"roles": ["qc_inspector", "qc_manager"]}))
    boss = {r["line"]: r for r in run(data, user="qcm")["rows"]}
    mine = run(data, user="qc1")
    seen = {r["line"]: r for r in mine["rows"]}
    expected = {}
    for line, *_rest, who in ROWS:
        if who == "qc1":
            expected[line] = expected.get(line, 0) + 1
    assert {k: v["n"] for k, v in seen.items()} == expected
    assert sum(v["n"] for v in boss.values()) == len(ROWS)
    assert all(v["cost"] is None and v["pricey"] == 0 for v in seen.values())
    assert boss["L1"]["pricey"] == 1 and boss["L1"]["cost"] == pytest.approx(16.0)
    assert "cost" in mine["hidden_fields"] and any(c["key"] == "cost" and c.get("hidden") for c in mine["columns"])
    # a user without any of the report's roles may not run it
    run(data, user="planner", expect=403)


def test_reference_dimension_shows_display_text_and_respects_target_scope(data: Plant) -> None:
    put(data, report(dimensions=[{"key": "product", "field": "product"}, {"key": "spec", "field": "product.code", "display": False}]))
    rows = run(data)["rows"]
    names = {r["product"]: r["n"] for r in rows}
    assert None in names and names[None] == 1 and sum(names.values()) == len(ROWS)
    assert all(("product__id" in r) for r in rows)
    assert {r["spec"] for r in rows} == {"MAT-1001", "MAT-1002", "MAT-1003", None}


def test_day_hour_shift_buckets_in_plant_time(data: Plant) -> None:
    put(data, report(dimensions=[{"key": "day", "field": "tested_at", "bucket": "day"}]))
    days = {r["day"]: r["n"] for r in run(data)["rows"]}
    assert days == {"2026-11-02": 2, "2026-11-03": 3, "2026-11-04": 2}       # 16:30Z is 00:30 on the 3rd in Shanghai
    put(data, report(dimensions=[{"key": "s", "field": "tested_at", "bucket": "shift"}],
                     shifts=[{"key": "D", "start": "08:00"}, {"key": "N", "start": "20:00"}]))
    shifts = {r["s"]: r["n"] for r in run(data)["rows"]}
    # 09:00 -> 2nd D; 23:30 and 00:30 (3rd) -> 2nd N; 10:00, 11:00 -> 3rd D; 13:00, 14:00 -> 4th D
    assert shifts == {"2026-11-02 D": 1, "2026-11-02 N": 2, "2026-11-03 D": 2, "2026-11-04 D": 2}
    put(data, report(dimensions=[{"key": "h", "field": "tested_at", "bucket": "hour"}],
                     params=[{"key": "period", "type": "date_range"}], filters=[{"field": "tested_at", "op": "between", "param": "period"}]))
    hours = [r["h"] for r in run(data, period="2026-11-03,2026-11-03")["rows"]]
    assert hours == ["2026-11-03 00:00", "2026-11-03 10:00", "2026-11-03 11:00"]
    put(data, report(dimensions=[{"key": "w", "field": "tested_at", "bucket": "week"}, {"key": "m", "field": "tested_at", "bucket": "month"}]))
    assert [(r["w"], r["m"], r["n"]) for r in run(data)["rows"]] == [("2026-11-02", "2026-11", 7)]


def test_running_total_share_top_n_and_pivot(data: Plant) -> None:
    put(data, report(dimensions=[{"key": "day", "field": "tested_at", "bucket": "day"}],
                     measures=[{"key": "n", "agg": "count"}, {"key": "cum", "running_total": "n"}]))
    assert [r["cum"] for r in run(data)["rows"]] == [2, 5, 7]
    put(data, report(dimensions=[{"key": "defect", "field": "defect"}],
                     measures=[{"key": "n", "agg": "count"}, {"key": "share", "share_of": "n"},
                               {"key": "cum", "share_of": "n", "cumulative": True, "scale": 100}],
                     sort=[{"key": "n", "desc": True}, {"key": "defect"}]))
    rows = run(data)["rows"]
    assert rows[0]["defect"] == "气孔" and rows[0]["n"] == 4 and rows[0]["share"] == pytest.approx(4 / 7, abs=1e-6)
    assert rows[-1]["cum"] == pytest.approx(100.0) and rows[0]["cum"] == pytest.approx(400 / 7, abs=1e-4)
    put(data, report(dimensions=[{"key": "defect", "field": "defect"}], top={"dimension": "defect", "n": 1, "by": "n"}))
    top = run(data)["rows"]
    assert [(r["defect"], r["n"]) for r in top] == [("气孔", 4), ("其他", 3)]
    drill = data.client.get("/api/reports/t_report/drill", params={"point.defect": "其他"}, headers=data.h("admin")).json()
    assert drill["total"] == 3 and {i["defect"] for i in drill["items"]} == {"砂眼", "裂纹", "尺寸"}
    put(data, report(dimensions=[{"key": "line", "field": "line"}, {"key": "ok", "field": "passed"}],
                     pivot={"dimension": "ok"}))
    pv = run(data)["pivot"]
    assert pv["row_dimensions"] == ["line"] and len(pv["values"]) == 2
    l1 = next(r for r in pv["rows"] if r["line"] == "L1")
    assert sum(cell["n"] for cell in l1["cells"].values()) == 3


def test_drill_down_returns_the_records_behind_a_bar(data: Plant) -> None:
    put(data, report(dimensions=[{"key": "line", "field": "line"}, {"key": "product", "field": "product"}],
                     permissions={"roles": ["qc_inspector", "qc_manager"]}))
    res = run(data)
    row = next(r for r in res["rows"] if r["line"] == "L1" and r["product"] is not None and r["n"] == 2)
    got = data.client.get("/api/reports/t_report/drill", params={"point.line": "L1", "point.product__id": row["product__id"]},
                          headers=data.h("admin")).json()
    assert got["total"] == 2 and {i["line"] for i in got["items"]} == {"L1"}
    # the inspector drills into the same bar and sees only their own department's records, without cost
    mine = data.client.get("/api/reports/t_report/drill", params={"point.line": "L1"}, headers=data.h("qc1")).json()
    assert mine["total"] == 2 and all("cost" not in i for i in mine["items"])
    bad = data.client.get("/api/reports/t_report/drill", params={"point.nope": "x"}, headers=data.h("admin"))
    assert bad.status_code == 422 and bad.json()["problems"][0]["path"] == "/point/nope"


def test_detail_report_and_exports(data: Plant) -> None:
    put(data, report(dimensions=[], measures=[], columns=[{"key": "line", "field": "line"}, {"key": "m", "field": "measured"},
                                                           {"key": "product", "field": "product.name"}],
                     sort=[{"key": "m", "desc": True}], limit=3))
    res = run(data)
    assert [r["m"] for r in res["rows"]] == [10.3, 10.2, 10.1] and res["truncated"] is True
    text = data.client.get("/api/reports/t_report/data", params={"format": "csv"}, headers=data.h("admin")).content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == ["产线", "测量值", "名称"] and lines[1][0] == "一线" and len(lines) == 4
    en = data.client.get("/api/reports/t_report/data", params={"format": "csv", "lang": "en"}, headers=data.h("admin")).content.decode("utf-8-sig")
    assert en.splitlines()[0] == "Line,Measured,Name" and "Line 1" in en
    x = data.client.get("/api/reports/t_report/data", params={"format": "xlsx"}, headers=data.h("admin"))
    assert x.status_code == 200 and "attachment" in x.headers["content-disposition"]
    ws = load_workbook(io.BytesIO(x.content)).active
    assert [c.value for c in ws[1]] == ["产线", "测量值", "名称"] and ws.cell(row=2, column=2).value == pytest.approx(10.3)


def test_definition_errors_name_the_path(data: Plant) -> None:
    bad = report(dimensions=[{"key": "line", "field": "lnie"}, {"key": "d", "field": "defect", "bucket": "day"}],
                 measures=[{"key": "n", "agg": "count"}, {"key": "r", "ratio": ["n", "nope"]}])
    r = data.client.put("/api/reports/t_report", json=bad, headers=data.h("admin"))
    assert r.status_code == 422
    probs = {p["path"]: p for p in r.json()["problems"]}
    assert "/dimensions/0/field" in probs and "line" in probs["/dimensions/0/field"]["message"]["en"]   # did you mean
    r = data.client.put("/api/reports/t_report", json=report(measures=[{"key": "x", "agg": "sum", "expr": "measured +* 2"}]),
                        headers=data.h("admin"))
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/measures/0/expr"
    r = data.client.put("/api/reports/t_report", json=report(measures=[{"key": "n", "agg": "count", "bogus": 1}]), headers=data.h("admin"))
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/measures/0/bogus"
    r = data.client.put("/api/reports/t_report", json=report(source="nope"), headers=data.h("admin"))
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/source"
    r = data.client.put("/api/reports/t_report", json=report(dimensions=[{"key": "d", "field": "defect", "bucket": "day"}]),
                        headers=data.h("admin"))
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/dimensions/0/bucket"
    assert data.client.get("/api/reports/t_report", headers=data.h("admin")).status_code == 404   # nothing was published


def _percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks — PostgreSQL's percentile_cont."""
    v = sorted(values)
    k = (len(v) - 1) * p
    lo = int(k)
    return v[lo] + (v[min(lo + 1, len(v) - 1)] - v[lo]) * (k - lo)


def test_percentiles_on_both_databases(data: Plant) -> None:
    put(data, report(measures=[{"key": "p50", "agg": "percentile", "p": 0.5, "field": "measured"},
                               {"key": "p90", "agg": "percentile", "p": 0.9, "field": "measured"},
                               {"key": "p90_failed", "agg": "percentile", "p": 0.9, "field": "measured", "where": "not passed"},
                               {"key": "n", "agg": "count"}]))
    rows = {r["line"]: r for r in run(data)["rows"]}
    assert rows["L1"]["p50"] == pytest.approx(10.1) and rows["L2"]["p50"] == pytest.approx(10.1)
    in_month = [r for r in ROWS if r[4].startswith("2026-11") and r[2] is not None]
    for line, got in rows.items():
        values = [float(r[2]) for r in in_month if r[0] == line]
        failed = [float(r[2]) for r in in_month if r[0] == line and not r[3]]
        assert got["p90"] == pytest.approx(_percentile(values, 0.9))
        assert got["p90_failed"] == (pytest.approx(_percentile(failed, 0.9)) if failed else None)
    # no dimension: one percentile over everything in the period
    put(data, report(dimensions=[], measures=[{"key": "p25", "agg": "percentile", "p": 0.25, "field": "measured"}]))
    assert run(data)["rows"][0]["p25"] == pytest.approx(_percentile([float(r[2]) for r in in_month], 0.25))


def test_bad_parameters_are_refused_with_paths(data: Plant) -> None:
    put(data, report(params=[{"key": "period", "type": "date_range", "required": True, "max_days": 31},
                             {"key": "line", "type": "select", "options_from": "line", "multiple": True}],
                     filters=[{"field": "tested_at", "op": "between", "param": "period"}, {"field": "line", "op": "in", "param": "line"}]))
    r = data.client.get("/api/reports/t_report/data", headers=data.h("admin"))
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/params/period"
    r = data.client.get("/api/reports/t_report/data", params={"period": "2026-01-01,2026-12-31", "line": "L9", "lnie": "1"},
                        headers=data.h("admin"))
    paths = [p["path"] for p in r.json()["problems"]]
    assert r.status_code == 422 and set(paths) == {"/params/period", "/params/line", "/params/lnie"}
    ok = run(data, period="2026-11-01,2026-11-30", line="L1,L3")
    assert {r["line"] for r in ok["rows"]} == {"L1", "L3"}


def test_unbounded_scan_is_refused(data: Plant, engine) -> None:  # type: ignore[no-untyped-def]
    """A report that would read the whole (here: more than max_scan_rows) table is refused with a hint."""
    put(data, report(max_scan_rows=3, params=[], filters=[{"field": "defect", "op": "like", "value": "孔"}]))
    r = data.client.get("/api/reports/t_report/data", headers=data.h("admin"))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["problems"][0]["code"] == "too_broad" and body["detail"]["max_scan_rows"] == 3
    if engine.dialect.name == "sqlite":      # an index-bounded range passes (PostgreSQL's planner seq-scans tiny tables)
        put(data, report(max_scan_rows=3, indexes=[["tested_at"]]))
        assert run(data, period="2026-11-04,2026-11-04")["rows"]


def test_report_cli_run_and_bad_param(data: Plant, cli) -> None:  # type: ignore[no-untyped-def]
    put(data, report())
    out = cli("report", "run", "t_report", "--format", "csv", "--param", "period=2026-11-02,2026-11-02")
    assert out.exit_code == 0, out.output
    assert out.output.splitlines() == ["产线,n", "一线,2"]
    bad = cli("report", "run", "t_report", "--param", "perid=x")
    assert bad.exit_code == 1 and "/params/perid" in bad.output


def test_stddev_of_a_decimal_field_is_not_rounded_to_its_scale(data: Plant) -> None:
    """Regression: the variance took the field's decimal type and was rounded to its scale (3 places)
    before the square root, so the standard deviation was off in the fourth digit."""
    import statistics

    put(data, report(measures=[{"key": "sd", "agg": "stddev", "field": "measured"}]))
    got = {r["line"]: r["sd"] for r in run(data)["rows"]}
    for line in ("L1", "L2", "L3"):
        values = [float(m) for ln, _d, m, *_rest in ROWS if ln == line]
        assert got[line] == pytest.approx(statistics.stdev(values), abs=1e-6), line
