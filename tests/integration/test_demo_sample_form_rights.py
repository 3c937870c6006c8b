"""The demo pack's sample forms 不合格品报告（示例表单） ``ncr`` and 设备故障报告（示例表单） ``breakdown`` no longer let every
role create records (issue 22 leftovers): NCRs are raised by the quality people and the production manager,
breakdowns by the shop floor, maintenance and quality; everyone else still reads them. SQLite and PostgreSQL."""
from __future__ import annotations

from typing import Any


def _create(plant: Any, form: str, user: str, body: dict[str, Any]) -> int:
    return plant.client.post(f"/api/records/{form}", json=body, headers=plant.h(user)).status_code


def test_the_buyer_reads_but_does_not_raise_ncrs_or_breakdowns(plant: Any) -> None:
    ncr = {"title": "阀体砂眼", "material": "MAT-1001", "qty": 2, "cost": 80}
    assert _create(plant, "ncr", "buyer", ncr) == 403
    assert _create(plant, "breakdown", "buyer", {"machine": "CNC-2", "symptom": "异响"}) == 403
    assert _create(plant, "breakdown", "planner", {"machine": "CNC-2", "symptom": "异响"}) == 403
    made = plant.ncr("qc1")
    assert _create(plant, "ncr", "pm", ncr) == 201 and _create(plant, "ncr", "qe1", ncr) == 201
    assert _create(plant, "breakdown", "pm", {"machine": "CNC-2", "symptom": "异响"}) == 201
    assert _create(plant, "breakdown", "qc1", {"machine": "CNC-3", "symptom": "漏油"}) == 201
    r = plant.client.get(f"/api/records/ncr/{made['id']}", headers=plant.h("buyer"))
    assert r.status_code == 200 and r.json()["title"] == "阀体砂眼"
    assert plant.client.get("/api/records/breakdown", headers=plant.h("planner")).status_code == 200
