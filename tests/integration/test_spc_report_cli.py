"""SPC through the report engine (issue 22): `mom report run --chart`, `mom report validate DIR` with a
dashboard whose report sits in the same folder, a chart refused on a truncated report rather than drawn on
part of it, missing readings skipped with a note. Data: the demo pack's piston-ring readings (Montgomery,
*Introduction to SQC*, Table 6.3; qcc pistonrings trial samples: x̿ = 74.00118, R̄ = 0.02276)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mom.engines.reports.spc import report as spc_report
from tests.integration.wf_helpers import Plant

ROOT = Path(__file__).parents[2]


def test_report_run_draws_the_piston_ring_chart(plant: Plant, cli: Any) -> None:
    args = ["report", "run", "iqc_readings", "--chart", "xbar_r",
            "--value", "value", "--subgroup", "lot_no", "--lsl", "73.95", "--usl", "74.05"]
    out = cli(*args)
    assert out.exit_code == 0, out.output
    res = json.loads(out.output)["spc"]
    x, r = res["charts"]
    assert res["subgroups"] == 25 and x["center"] == pytest.approx(74.00118, abs=5e-6)
    assert r["center"] == pytest.approx(0.02276, abs=5e-7) and res["capability"]["Cpk"] > 1.33
    text = cli(*args, "--format", "text")
    assert text.exit_code == 0, text.output
    assert "[xbar] CL = 74.0012" in text.output and "Cpk" in text.output and "anderson_darling" in text.output
    bad = cli(*args[:-4], "--value", "nope")
    assert bad.exit_code == 1 and "没有列 nope" in bad.output
    csv = cli(*args, "--format", "csv")
    assert csv.exit_code == 1 and "json 或 text" in csv.output


def test_validate_accepts_a_dashboard_with_its_report_in_the_folder(plant: Plant, cli: Any, tmp_path: Path) -> None:
    rep = json.loads((ROOT / "modelpacks/demo/reports/iqc_readings.json").read_text())
    rep["name"] = "bore_readings_new"
    dash = {"format": "mom.dashboard/1", "name": "bore_new", "label": {"zh-CN": "内孔", "en": "Bore"},
            "widgets": [{"id": "c", "type": "control_chart", "report": "bore_readings_new", "value": "value",
                         "subgroup": "lot_no", "chart": "xbar_s", "rules": "nelson:1,2,5", "k": 3}]}
    (tmp_path / "reports").mkdir()
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "reports/bore_readings_new.json").write_text(json.dumps(rep, ensure_ascii=False))
    (tmp_path / "dashboards/bore_new.json").write_text(json.dumps(dash, ensure_ascii=False))
    out = cli("report", "validate", str(tmp_path))
    assert out.exit_code == 0, out.output
    assert out.output.count("ok:") == 2
    dash["widgets"][0]["report"] = "no_such_report"
    (tmp_path / "dashboards/bore_new.json").write_text(json.dumps(dash, ensure_ascii=False))
    bad = cli("report", "validate", str(tmp_path))
    assert bad.exit_code == 1 and "no_such_report" in bad.output


def test_a_truncated_report_is_refused_not_charted() -> None:
    result = {"columns": [{"key": "v"}], "rows": [{"v": 1.0}] * 10, "truncated": True}
    with pytest.raises(spc_report.SpcError) as e:
        spc_report.control_chart({"value": "v", "chart": "i_mr"}, result)
    assert "截断" in e.value.zh and "part of the data" in e.value.en


def test_missing_readings_are_noted_by_lot(plant: Plant) -> None:
    rows = [{"lot": "L1", "v": 1.0}, {"lot": "L1", "v": 2.0}, {"lot": "L2", "v": None}, {"lot": "L2", "v": 3.0},
            {"lot": "L2", "v": 2.5}, {"lot": "L3", "v": 2.0}, {"lot": "L3", "v": 1.5}]
    out = spc_report.control_chart({"value": "v", "subgroup": "lot", "chart": "xbar_r"},
                                   {"columns": [], "rows": rows, "truncated": False})
    note = out["spc"]["notes"][0]
    assert note["subgroups"] == ["L2"] and note["missing_readings"] == 1
    assert out["option"]["xAxis"]["data"] == ["L1", "L2", "L3"]
    # sizes 2, 2, 2 after the skip: equal limits, drawn as mark lines
    assert [m["name"] for m in out["option"]["series"][0]["markLine"]["data"]] == ["UCL", "CL", "LCL"]


def test_dashboard_p_chart_and_api(plant: Plant) -> None:
    body = {"chart": "p", "counts": [12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22, 8, 10, 5, 13, 11, 20, 18, 24, 15,
                                     9, 12, 7, 13, 9, 6], "sizes": [50] * 30}
    r = plant.client.post("/api/spc/analyze", json=body, headers=plant.h("qcm"))
    assert r.status_code == 200, r.text
    c = r.json()["charts"][0]
    assert c["ucl"] == pytest.approx(0.4102, abs=5e-5)       # Montgomery Example 7.1
    r = plant.client.post("/api/spc/analyze", json={"chart": "p", "counts": [1, 2]}, headers=plant.h("qcm"))
    assert r.status_code == 422 and "sizes" in r.text
    r = plant.client.post("/api/spc/analyze", json={"chart": "i_mr", "values": [1, 2, 3, 2, 1], "rules": "nelson:12"},
                          headers=plant.h("qcm"))
    assert r.status_code == 422 and "1..8" in r.text
    for bad, words in (({"chart": "xbar_r", "subgroups": [[1, 2], [2, 3], [1, 3]], "exclude": {"2": ""}}, "reason"),
                       ({"chart": "xbar_r", "subgroups": [[1, 2], [2, 3]], "k": 9}, "(0, 6]"),
                       ({"chart": "i_mr", "values": [1, 2, 3, 4], "span": 40}, "2..25"),
                       ({"chart": "ewma", "values": [1, 2, 3], "lambda": "x"}, "numbers"),
                       ({"chart": "xbar_s", "subgroups": [[1, 2], [2, 3]], "baseline": {"mean": 1}}, "mean and sigma")):
        r = plant.client.post("/api/spc/analyze", json=bad, headers=plant.h("qcm"))
        assert r.status_code == 422 and words in r.text, (bad, r.text)
    # X̄-S with a subgroup of 3 among 5s: per-point limits (Montgomery §6.3.2), exclusions recorded
    groups = [[74.030, 74.002, 74.019, 73.992, 74.008], [73.995, 73.992, 74.001], [73.988, 74.024, 74.021, 74.005, 74.002],
              [74.002, 73.996, 73.993, 74.015, 74.009]]
    r = plant.client.post("/api/spc/analyze", json={"chart": "xbar_s", "subgroups": groups, "exclude": {"3": "量具校准 gauge recalibrated"}},
                          headers=plant.h("qcm"))
    assert r.status_code == 200, r.text
    x = r.json()["charts"][0]
    assert x["ucl"] is None and x["ucl_points"][1] > x["ucl_points"][0] == x["ucl_points"][2]
    assert r.json()["excluded"] == [{"index": 2, "reason": "量具校准 gauge recalibrated"}]
