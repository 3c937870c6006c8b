"""`mom demo` shows the quality pack with content (SQLite and PostgreSQL; the `plant` template is `mom demo`).

The quality pack's demo data: three inspection plans (IQC of the demo valve-body casting with 内孔 / 外径
charted and 外观 checked on a p chart, IPQC first article and OQC of the demo ball valve), and 25 receipts of the casting
whose inspection lots the engine opened and the inspector judged — the 内孔 readings are Montgomery's piston
rings (Introduction to SQC, Table 6.3: 25 samples of 5, grand mean x̿ = 74.00118 mm, R̄ = 0.023 mm), so the
SPC chart answers with those 25 subgroups and that centre line. One lot (a scratched piece, Ac 0) is rejected:
its stock lot blocked and an NCR opened. Running the demo step again changes nothing.
"""
from __future__ import annotations

from typing import Any

import pytest

from mom.engines.forms import fieldtypes
from mom.platform.cli import demo as demo_cli
from mom.platform.cli import demo_quality
from mom.platform.composition import form_registry
from mom.platform.settings import get_settings
from tests.conftest import login


def _get(client: Any, url: str, who: str = "qe1", pw: str = "qe1pass123") -> Any:
    r = client.get(url, headers=login(client, who, pw))
    assert r.status_code == 200, r.text
    return r.json()


def _history(engine: Any) -> list[str]:
    """The step `mom demo` ends with (platform/cli/demo.py load_packs); the plant template leaves it out."""
    return list(demo_quality.load_quality_history(engine, form_registry(), demo_cli.demo_pack_path(),
                                                  fieldtypes.plant_tz(get_settings().timezone)))


def test_the_demo_has_plans_judged_lots_an_ncr_and_a_chart_of_25_subgroups(plant, client, engine) -> None:  # type: ignore[no-untyped-def]
    assert _history(engine) == ["质量演示 / quality demo: 入库 25 张、判定检验单 25 张 / 25 receipts posted, 25 lots judged"]
    plans = _get(client, "/api/records/inspection_plan?limit=50")["items"]
    kinds = {p["name"]: p["inspection_type"] for p in plans}
    assert kinds == {"阀体铸件来料检验（演示）": "iqc", "球阀装配首检（演示）": "ipqc_first", "球阀出货检验（演示）": "oqc"}
    iqc = next(p for p in plans if p["inspection_type"] == "iqc")
    iqc = _get(client, f"/api/records/inspection_plan/{iqc['id']}")
    assert [(c["name"], c["kind"], bool(c["spc"])) for c in iqc["characteristics"]] == \
        [("内孔", "numeric", True), ("外径", "numeric", True), ("外观", "attribute", True)]

    lots = _get(client, f"/api/records/inspection_lot?limit=100&plan={iqc['id']}", "qc1", "qc1pass123")["items"]
    assert len(lots) == 25 and {lt["status"] for lt in lots} == {"judged"}
    rejected = [lt for lt in lots if lt["result"] == "rejected"]
    assert len(rejected) == 1 and rejected[0]["defects_minor"] == 1 and rejected[0]["ncr"]
    ncr = _get(client, f"/api/records/nonconformance?inspection_lot={rejected[0]['id']}", "qcm", "qcmpass123")["items"]
    assert len(ncr) == 1 and ncr[0]["code"] == rejected[0]["ncr"] and float(ncr[0]["qty"]) == 100
    assert _get(client, f"/api/records/lot/{rejected[0]['lot']}", "admin", "admin123")["status"] == "blocked"

    chart = _get(client, f"/api/quality/spc/chart?plan={iqc['id']}&char_seq=1")
    assert len(chart["subgroups"]) == 25 and chart["spc"] is not None
    text = str(chart["spc"])
    assert "74.001" in text          # Montgomery Table 6.3: x̿ = 74.001 (74.00118)
    listed = _get(client, "/api/quality/spc/characteristics")
    assert "内孔" in str(listed) and "外径" in str(listed)
    # 外观 on a p chart: the fraction of the 5 pieces failing 外观 per lot — 0 on every lot but the 22nd (1 of 5)
    looks = _get(client, f"/api/quality/spc/chart?plan={iqc['id']}&char_seq=3")
    assert looks["spc"]["type"] == "p" and len(looks["subgroups"]) == 25
    points = looks["spc"]["charts"][0]["points"]
    assert points == [0.2 if i == 21 else 0 for i in range(25)]
    assert looks["spc"]["charts"][0]["center"] == pytest.approx(1 / 125)          # p̄ = 1 failed piece of 25 × 5
    # judged 22nd, past the 20 lots of phase I: its point is beyond p̄ + 3√(p̄(1−p̄)/5) — one alarm, no second NCR
    assert [(a["subgroup"], a["ncr"]) for a in looks["alarms"]] == [(rejected[0]["code"], None)]

    # 质量看板: 24 of 25 lots accepted, the scratch on the defect Pareto
    board = {w["id"]: w for w in _get(client, "/api/dashboards/quality_board/data", "qcm", "qcmpass123")["widgets"]}
    assert board["acceptance"]["value"] == 0.96
    assert [p["category"] for p in board["defects"]["pareto"]] == ["外观划伤"]

    # the demo step again (as `mom demo` twice): nothing new
    assert _history(engine) == []
    again = _get(client, f"/api/records/inspection_lot?limit=100&plan={iqc['id']}", "qc1", "qc1pass123")["items"]
    assert len(again) == 25
