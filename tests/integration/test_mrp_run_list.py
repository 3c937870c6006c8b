"""The list of MRP runs (GET /api/mrp/runs) that the MRP workbench (物料需求计划) opens with: on the core demo
plant a planner's two runs come back newest first with their counts, the first marked 已被新运算取代 by the
second (docs/mrp.md, "Runs"); an operator reads them too (everyone reads the MRP forms); a bad limit is
refused naming the field; an API caller who is not signed in gets 401."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mom.platform.auth import service as auth
from mom.platform.db.engine import write_tx
from tests.conftest import fixture_hash, login


def _users(engine: sa.engine.Engine) -> None:
    with write_tx(engine) as conn:
        for name, roles in (("plan1", ["planner"]), ("op1", ["operator"])):
            auth.create_user(conn, username=name, password_hash=fixture_hash(f"{name}-pass-1"), roles=roles)


def test_runs_newest_first_with_their_counts(core_pack: sa.engine.Engine, client: Any) -> None:
    _users(core_pack)
    plan = login(client, "plan1", "plan1-pass-1")
    first = client.post("/api/mrp/runs", json={"bucket": "week", "horizon": 12}, headers=plan)
    assert first.status_code == 201, first.text
    second = client.post("/api/mrp/runs", json={"bucket": "day", "horizon": 30}, headers=plan)
    assert second.status_code == 201, second.text
    r = client.get("/api/mrp/runs", headers=plan)
    assert r.status_code == 200, r.text
    got = r.json()["runs"]
    assert [x["code"] for x in got] == [second.json()["code"], first.json()["code"]]
    assert (got[0]["bucket"], got[0]["horizon"], got[0]["status"]) == ("day", 30, "done")
    assert got[1]["status"] == "superseded"
    assert got[0]["suggestion_count"] == second.json()["suggestion_count"] > 0
    one = client.get("/api/mrp/runs", params={"limit": 1}, headers=login(client, "op1", "op1-pass-1"))
    assert [x["code"] for x in one.json()["runs"]] == [second.json()["code"]]


def test_a_bad_limit_is_refused_naming_it(core_pack: sa.engine.Engine, client: Any) -> None:
    _users(core_pack)
    plan = login(client, "plan1", "plan1-pass-1")
    r = client.get("/api/mrp/runs", params={"limit": 500}, headers=plan)
    assert r.status_code == 422 and "limit" in r.text
    assert client.get("/api/mrp/runs").status_code == 401
