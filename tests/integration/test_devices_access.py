"""Who may classify a stop and who reads machine data (review of issue 23), SQLite and PostgreSQL:
a stop reason must fit the state (none on a running state, a planned reason only on a planned stop, …),
operators classify only recent stops, supervisors any; machine data read by plant roles only, the device
mapping only by the equipment manager."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from mom.engines.devices.ingest import DeviceIngest
from mom.engines.packs import manager
from mom.platform.auth import service as auth
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx, write_tx
from tests.conftest import fixture_hash, login

UTC = dt.timezone.utc
MAPPING = {"code": "LINE", "name": "车间 JSON", "topic_pattern": "plant/+/+/data", "machine_expr": "segments[2]",
           "state_expr": 'payload["state"]', "total_expr": 'payload["total"]', "message_id_expr": 'payload["seq"]',
           "timestamp_expr": 'payload["ts"]'}
USERS = {"boss": None, "op": ["operator"], "sup": ["supervisor"], "eqm": ["equipment_manager"], "nobody": [],
         "keeper": ["storekeeper"], "qe": ["quality_engineer"]}


@pytest.fixture
def plant(core_pack: sa.engine.Engine, client: Any, engine: sa.engine.Engine) -> dict[str, Any]:
    manager.execute(engine, None, "install", "equipment", forms_factory=form_registry)
    with write_tx(engine) as conn:
        for name, roles in USERS.items():
            auth.create_user(conn, username=name, password_hash=fixture_hash(f"{name}pass123"), display_name=name,
                             is_admin=roles is None, roles=roles or [])
    h = {name: login(client, name, f"{name}pass123") for name in USERS}
    assert client.post("/api/records/device_mapping", json=MAPPING, headers=h["boss"]).status_code == 201
    with read_tx(engine) as conn:
        machines = dict(conn.execute(sa.text("SELECT code, id FROM machine WHERE deleted_at IS NULL")).all())
        reasons = dict(conn.execute(sa.text("SELECT code, id FROM stop_reason")).all())
    return {"h": h, "machines": machines, "reasons": reasons}


def _states(engine: sa.engine.Engine, start: dt.datetime, states: list[str]) -> dict[str, int]:
    """CNC-1 goes through ``states``, one a minute from ``start``; each state's newest row id."""
    ingest = DeviceIngest(engine, form_registry())
    for i, s in enumerate(states):
        ingest.submit("plant/hall1/CNC-1/data", {"seq": i + 1, "state": s, "total": i,
                                                 "ts": int((start + dt.timedelta(minutes=i)).timestamp() * 1000)}, start)
    ingest.flush()
    with read_tx(engine) as conn:
        return {s: int(i) for i, s in conn.execute(sa.text("SELECT id, state FROM machine_state ORDER BY started_at"))}


def _patch(client: Any, h: dict[str, str], sid: int, reason: int | None) -> Any:
    row = client.get(f"/api/records/machine_state/{sid}", headers=h).json()
    return client.patch(f"/api/records/machine_state/{sid}", json={"stop_reason": reason, "row_version": row["row_version"]},
                        headers=h)


def test_a_stop_reason_must_fit_the_state(plant: dict[str, Any], client: Any, engine: sa.engine.Engine) -> None:
    now = dt.datetime.now(UTC).replace(microsecond=0)
    ids = _states(engine, now - dt.timedelta(hours=1), ["running", "down", "setup", "planned_stop", "idle"])
    rs, op = plant["reasons"], plant["h"]["op"]
    r = _patch(client, op, ids["running"], rs["BRK-MECH"])
    assert r.status_code == 422, r.text
    assert r.json()["message"]["zh-CN"].startswith("停机原因：设备在运行")
    assert r.json()["problems"][0]["path"] == "/stop_reason"
    r = _patch(client, op, ids["down"], rs["PLN-MEET"])             # a planned reason on a breakdown: refused
    assert r.status_code == 422 and "「计划停机」，不适用于「停机」状态" in r.json()["message"]["zh-CN"], r.text
    assert _patch(client, op, ids["setup"], rs["BRK-ELEC"]).status_code == 422
    assert _patch(client, op, ids["planned_stop"], rs["MIN-JAM"]).status_code == 422
    assert _patch(client, op, ids["idle"], rs["SPD-LOW"]).status_code == 422      # a speed loss explains no stop
    assert _patch(client, plant["h"]["boss"], ids["down"], rs["PLN-PM"]).status_code == 422   # nor for an administrator
    for state, code in (("down", "BRK-MECH"), ("idle", "MIN-WAIT"), ("setup", "SET-CHG"), ("planned_stop", "PLN-PM")):
        r = _patch(client, op, ids[state], rs[code])
        assert r.status_code == 200, (state, r.text)
    with read_tx(engine) as conn:
        got = dict(conn.execute(sa.text("SELECT s.state, r.code FROM machine_state s JOIN stop_reason r ON r.id = s.stop_reason")).all())
    assert got == {"down": "BRK-MECH", "idle": "MIN-WAIT", "setup": "SET-CHG", "planned_stop": "PLN-PM"}


def test_operators_classify_recent_stops_supervisors_any(plant: dict[str, Any], client: Any, engine: sa.engine.Engine) -> None:
    old = dt.datetime.now(UTC).replace(microsecond=0) - dt.timedelta(days=10)
    ids = _states(engine, old, ["down", "running"])
    brk = plant["reasons"]["BRK-MECH"]
    r = _patch(client, plant["h"]["op"], ids["down"], brk)
    assert r.status_code == 403 and "只能给最近 7 天内开始的停机" in r.json()["message"]["zh-CN"], r.text
    assert _patch(client, plant["h"]["sup"], ids["down"], brk).status_code == 200
    assert _patch(client, plant["h"]["op"], ids["down"], None).status_code == 403     # nor clear it
    assert _patch(client, plant["h"]["eqm"], ids["down"], None).status_code == 200


def test_machine_data_read_by_plant_roles_and_the_mapping_by_the_equipment_manager(plant: dict[str, Any], client: Any,
                                                                                   engine: sa.engine.Engine) -> None:
    _states(engine, dt.datetime.now(UTC).replace(microsecond=0) - dt.timedelta(minutes=5), ["running", "down"])
    h = plant["h"]
    for form in ("machine_state", "machine_count", "process_value", "device_alarm"):
        for who in ("op", "sup", "qe", "eqm"):
            assert client.get(f"/api/records/{form}", headers=h[who]).status_code == 200, (form, who)
        for who in ("nobody", "keeper"):
            r = client.get(f"/api/records/{form}", headers=h[who])
            assert r.status_code == 403, (form, who, r.text)
            assert r.json()["message"]["zh-CN"]
    for who in ("op", "sup", "nobody"):
        assert client.get("/api/records/device_mapping", headers=h[who]).status_code == 403, who
    assert client.get("/api/records/device_mapping", headers=h["eqm"]).json()["items"]
    cnc = plant["machines"]["CNC-1"]
    mine = client.get("/api/devices/states/current", headers=h["op"]).json()["machines"]
    assert [m["state"] for m in mine if m["machine"] == cnc] == ["down"]
    r = client.get("/api/devices/states/current", headers=h["nobody"])
    assert r.status_code == 403 or not r.json()["machines"], r.text
    r = client.get(f"/api/devices/machines/{cnc}/timeline", headers=h["nobody"])
    assert r.status_code in (403, 404) or not r.json()["states"], r.text
    r = client.get("/api/oee/andon", headers=h["nobody"])
    assert r.status_code == 403 or not r.json().get("machines"), r.text
    r = client.get("/api/oee", headers=h["keeper"])
    assert r.status_code == 403 or not r.json().get("rows"), r.text
