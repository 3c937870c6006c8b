"""POST /api/scheduling/solve | check | reschedule: the scheduling engine over HTTP (logged-in users)."""
from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = json.loads((ROOT / "docs" / "examples" / "scheduling" / "pump-valve.json").read_text(encoding="utf-8"))


def test_solve_check_and_reschedule_over_http(client, admin) -> None:
    assert client.post("/api/scheduling/solve", json={"problem": EXAMPLE}).status_code == 401
    r = client.post("/api/scheduling/solve", headers=admin, json={"problem": EXAMPLE, "time_limit": 3})
    assert r.status_code == 200, r.text
    sol = r.json()
    assert sol["format"] == "mom.schedule-solution/1" and sol["check"]["feasible"]
    assert {t["resource"] for t in sol["gantt"]["tasks"]} <= {res["id"] for res in EXAMPLE["resources"]}
    assert sol["operations"][0]["start_at"].startswith("2026-11-2")
    # the bare problem is accepted as the body too
    assert client.post("/api/scheduling/solve", headers=admin, json=EXAMPLE).status_code == 200
    ok = client.post("/api/scheduling/check", headers=admin, json={"problem": EXAMPLE, "solution": sol}).json()
    assert ok == {"feasible": True, "violations": []}
    sol["operations"][0]["start"] = 0
    bad = client.post("/api/scheduling/check", headers=admin, json={"problem": EXAMPLE, "solution": sol}).json()
    assert not bad["feasible"] and bad["violations"]
    sol["operations"][0]["start"] = next(o["start"] for o in r.json()["operations"])
    re = client.post("/api/scheduling/reschedule", headers=admin, json={
        "problem": EXAMPLE, "previous": r.json(), "time_limit": 2,
        "breakdown": {"resource": "CNC-1", "start": 900, "end": 1500, "policy": "split"}})
    assert re.status_code == 200, re.text
    assert re.json()["check"]["feasible"] and "moved" in re.json()["changes"]
    rush = client.post("/api/scheduling/reschedule", headers=admin, json={
        "problem": EXAMPLE, "previous": r.json(), "time_limit": 2, "now": 600,
        "rush": [{"id": "R1", "due": 1200, "weight": 5, "operations": [{"id": "t", "modes": [{"resource": "TEST-1", "duration": 60}]}]}]})
    assert rush.status_code == 200 and rush.json()["impact"]["rush"][0]["order"] == "R1"


def test_bad_bodies_name_the_path(client, admin) -> None:
    r = client.post("/api/scheduling/solve", headers=admin, json={"problem": {**EXAMPLE, "resources": [{"id": "M1", "kind": "robot"}]}})
    assert r.status_code == 422
    assert "/problem/resources/0/kind" in {p["path"] for p in r.json()["problems"]}
    r = client.post("/api/scheduling/solve", headers=admin, json={"problem": EXAMPLE, "time_limit": -1})
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/time_limit"
    r = client.post("/api/scheduling/check", headers=admin, json={"problem": EXAMPLE})
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/solution"
    sol = client.post("/api/scheduling/solve", headers=admin, json={"problem": EXAMPLE, "time_limit": 1}).json()
    r = client.post("/api/scheduling/reschedule", headers=admin, json={
        "problem": EXAMPLE, "previous": sol, "breakdown": {"resource": "CNC-9", "start": 10}})
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/breakdown/resource"
    r = client.post("/api/scheduling/reschedule", headers=admin, json={"problem": EXAMPLE, "previous": sol})
    assert r.status_code == 422
