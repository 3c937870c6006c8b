"""质量看板 after the outside review (F2): an out-of-limit reading entered without a defect code counts in the
defect Pareto under its characteristic (「外径超差」) instead of one bar 「—」; the Pareto's 80 % line is labelled
inside the plot; the 供应商质量 table carries each column's format (the UI shows 批合格率 as the report does).

Figures: the fixture of test_quality_reports (A2: 外径 12.15 > 12.1 with code 尺寸超差, two 外观划伤) plus one lot
of 瑞安标准件厂 whose piece 2 measures 12.20 mm and is entered without a code: 外观划伤 2, 尺寸超差 1, 外径超差 1;
cumulative 2/4 = 50 %, 3/4 = 75 %, 100 %. Both databases (MOM_TEST_DATABASE_URL for PostgreSQL)."""
from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.integration.test_quality_reports import NUT_SUPPLIER, _data, _lot, _ok, judged, qc  # noqa: F401 — fixtures


def _uncoded_out_of_limit_lot(client: TestClient, qc: dict[str, Any]) -> int:
    lot = _lot(client, qc, NUT_SUPPLIER, 200)
    cells = [{"sample_no": n, "char_seq": 1, "value": d} for n, d in enumerate(["12.00", "12.20", "11.99"], start=1)]
    cells += [{"sample_no": n, "char_seq": 2, "ok": True} for n in (1, 2, 3)]
    _ok(client.put(f"/api/quality/inspections/{lot}/results", headers=qc["qc"], json={"cells": cells}))
    assert _ok(client.post(f"/api/quality/inspections/{lot}/judge", headers=qc["qc"], json={}))["result"] == "rejected"
    return lot


def test_an_out_of_limit_reading_without_a_defect_code_counts_under_its_characteristic(
        judged: dict[str, Any], client: TestClient) -> None:   # noqa: F811
    _uncoded_out_of_limit_lot(client, judged)
    rows = _data(client, judged["qe"], "defect_pareto")["rows"]
    got = [(r["defect"], r["defects"], round(r["cumulative"], 4)) for r in rows]
    assert got[0] == ("外观划伤", 2, 0.5) and [g[2] for g in got[1:]] == [0.75, 1.0], got
    assert {g[:2] for g in got[1:]} == {("尺寸超差", 1), ("外径超差", 1)}      # a tie of 1 each: either order
    board = {w["id"]: w for w in _ok(client.get("/api/dashboards/quality_board/data", headers=judged["qe"]))["widgets"]}
    pareto = board["defects"]["option"]
    assert pareto["xAxis"]["data"] == [g[0] for g in got] and "—" not in pareto["xAxis"]["data"]   # no bar 「—」
    mark = pareto["series"][1]["markLine"]
    assert mark["data"] == [{"yAxis": 80}] and mark["label"]["position"] == "insideEndTop" and mark["label"]["formatter"] == "80%"


def test_the_supplier_table_widget_carries_the_percent_format_of_its_report(judged: dict[str, Any], client: TestClient) -> None:  # noqa: F811
    board = {w["id"]: w for w in _ok(client.get("/api/dashboards/quality_board/data", headers=judged["qe"]))["widgets"]}
    cols = {c["key"]: c for c in board["suppliers"]["columns"]}
    assert cols["acceptance_rate"]["format"] == "percent" and cols["acceptance_rate"]["decimals"] == 4
    rates = sorted(r["acceptance_rate"] for r in board["suppliers"]["rows"])
    assert [round(x, 4) for x in rates] == [0.6667, 1.0]        # 2 of 3 bolt lots, 2 of 2 nut lots (shown 66.67 % / 100.00 %)
