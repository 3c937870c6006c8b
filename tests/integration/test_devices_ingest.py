"""Device data ingestion (设备数据采集, issue 23) without a broker, SQLite and PostgreSQL: decoded messages through
the plant's device mapping into 设备状态 / 设备计数 / 工艺参数 / 设备报警, exactly once; mappings checked on save;
the engine's forms refused through the record API; the current-state and timeline API."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
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
T0 = dt.datetime.combine(dt.date.today() - dt.timedelta(days=2), dt.time(8), tzinfo=UTC)   # within the mapping's 31 days
MAPPING = {"code": "LINE", "name": "车间 JSON", "topic_pattern": "plant/+/+/data", "machine_expr": "segments[2]",
           "state_expr": 'payload["state"]', "total_expr": 'payload["total"]', "good_expr": 'payload["good"]',
           "message_id_expr": 'payload["seq"]', "timestamp_expr": 'payload["ts"]', "counter_max": 65535,
           "tags": [{"tag": "temp", "expression": 'payload["temp"]', "unit": "℃", "high_limit": 80, "deadband": 5,
                     "on_alarm": "notify"}]}


@pytest.fixture
def equipment(core_pack: sa.engine.Engine, client: Any, engine: sa.engine.Engine) -> dict[str, Any]:
    """The core pack's demo plant with the equipment pack, an administrator and a 设备主管, and the mapping."""
    manager.execute(engine, None, "install", "equipment", forms_factory=form_registry)
    with write_tx(engine) as conn:
        auth.create_user(conn, username="boss", password_hash=fixture_hash("bosspass123"), display_name="管理员", is_admin=True)
        auth.create_user(conn, username="eqm", password_hash=fixture_hash("eqmpass123"), display_name="设备主管老刘",
                         roles=["equipment_manager"])
    admin = login(client, "boss", "bosspass123")
    r = client.post("/api/records/device_mapping", json=MAPPING, headers=admin)
    assert r.status_code == 201, r.text
    with read_tx(engine) as conn:
        machines = dict(conn.execute(sa.text("SELECT code, id FROM machine WHERE deleted_at IS NULL")).all())
    return {"admin": admin, "machines": machines, "eqm": login(client, "eqm", "eqmpass123")}


def _msg(seq: int, state: str, total: int, good: int, temp: float, second: int) -> dict[str, Any]:
    return {"seq": seq, "state": state, "total": total, "good": good, "temp": temp,
            "ts": int((T0 + dt.timedelta(seconds=second)).timestamp() * 1000)}


def _rows(engine: sa.engine.Engine, sql: str, **params: Any) -> list[Any]:
    with read_tx(engine) as conn:
        return list(conn.execute(sa.text(sql), params).all())


def test_messages_become_states_minute_counts_values_and_one_alarm(equipment: dict[str, Any], engine: sa.engine.Engine) -> None:
    cnc = equipment["machines"]["CNC-1"]
    ingest = DeviceIngest(engine, form_registry())
    stream = [_msg(1, "running", 65500, 65500, 60, 0),       # the first value is the base: nothing counted
              _msg(2, "running", 65510, 65509, 85, 20),      # +10 (9 good): temp over 80 -> one alarm
              _msg(3, "down", 65530, 65528, 90, 40),         # +20 (19 good); still over: no second alarm
              _msg(3, "down", 65530, 65528, 90, 40),         # the same message again: skipped
              _msg(4, "running", 4, 2, 76, 70),              # rollover past 65535: +10 (10 good) in minute 08:01
              _msg(5, "running", 8, 6, 74, 80)]              # +4 (4 good); 74 <= 80 - 5: the alarm clears
    for m in stream:
        ingest.submit("plant/hall1/CNC-1/data", m, T0)
    rep = ingest.flush()
    assert (rep.applied, rep.duplicates, rep.alarms) == (5, 1, 1)
    counts = _rows(engine, "SELECT bucket_start, total, good, scrap FROM machine_count WHERE machine = :m ORDER BY bucket_start", m=cnc)
    assert [(float(t), float(g), float(s)) for _, t, g, s in counts] == [(30, 28, 2), (14, 14, 0)]
    states = _rows(engine, "SELECT state, duration_s, ended_at FROM machine_state WHERE machine = :m ORDER BY started_at", m=cnc)
    assert [(s, None if d is None else float(d)) for s, d, _ in states] == [("running", 40.0), ("down", 30.0), ("running", None)]
    values = _rows(engine, "SELECT n, mean, min, max, last FROM process_value WHERE machine = :m AND tag = 'temp' "
                           "ORDER BY bucket_start", m=cnc)
    assert [tuple(float(x) for x in v) for v in values] == [(3, 78.333333, 60, 90, 90), (2, 75, 74, 76, 74)]
    alarms = _rows(engine, "SELECT kind, value, limit_value, cleared_at, status FROM device_alarm WHERE machine = :m", m=cnc)
    assert len(alarms) == 1 and alarms[0][0] == "high" and float(alarms[0][1]) == 85 and alarms[0][3] is not None
    bell = _rows(engine, "SELECT n.title, n.link FROM mom_notification n JOIN mom_user u ON u.id = n.user_id "
                         "WHERE u.username = 'eqm' AND n.kind = 'device_alarm'")
    assert len(bell) == 1 and "temp" in bell[0][0] and "超上限" in bell[0][0]

    # a consumer restarted from nothing (fresh caches) gets the whole stream again: nothing changes
    again = DeviceIngest(engine, form_registry())
    for m in stream:
        again.submit("plant/hall1/CNC-1/data", m, T0)
    rep2 = again.flush()
    assert (rep2.applied, rep2.duplicates) == (0, 6)
    assert _rows(engine, "SELECT sum(total) FROM machine_count WHERE machine = :m", m=cnc)[0][0] == pytest.approx(44)
    assert len(_rows(engine, "SELECT id FROM machine_state WHERE machine = :m", m=cnc)) == 3


def test_unknown_machine_reported_once_and_a_malformed_message_skipped(equipment: dict[str, Any], engine: sa.engine.Engine) -> None:
    ingest = DeviceIngest(engine, form_registry())
    ingest.submit("plant/hall1/XX-9/data", _msg(1, "running", 0, 0, 20, 0), T0)
    ingest.submit("plant/hall1/CNC-2/data", ["not", "an", "object"], T0)   # type: ignore[arg-type]
    ingest.submit("plant/hall1/CNC-2/data", _msg(1, "idle", 5, 5, 20, 0), T0)
    rep = ingest.flush()
    assert (rep.unknown_machine, rep.malformed, rep.applied) == (1, 1, 1)
    for i in range(2, 4):      # later flushes: counted, not reported again
        ingest.ingest("plant/hall1/XX-9/data", _msg(i, "running", i, i, 20, i), T0)
    unknown = _rows(engine, "SELECT key, messages FROM mom_device_unknown")
    assert unknown == [("machine:XX-9", 3)]
    notes = _rows(engine, "SELECT title FROM mom_notification n JOIN mom_user u ON u.id = n.user_id "
                          "WHERE u.username = 'eqm' AND n.kind = 'device_unknown'")
    assert len(notes) == 1 and "XX-9" in notes[0][0]
    assert _rows(engine, "SELECT state FROM machine_state WHERE machine = :m", m=equipment["machines"]["CNC-2"]) == [("idle",)]


def test_a_wrong_mapping_is_refused_naming_row_and_field(equipment: dict[str, Any], client: Any, engine: sa.engine.Engine) -> None:
    bad = {**MAPPING, "code": "BAD", "topic_pattern": "plant/#/data", "state_expr": 'payload["state"',
           "tags": [{"tag": "temp", "expression": 'payload["temp"]', "low_limit": 10, "high_limit": 80},
                    {"tag": "press", "expression": "open('x')", "low_limit": 5, "high_limit": 5}]}
    r = client.post("/api/records/device_mapping", json=bad, headers=equipment["admin"])
    assert r.status_code == 422, r.text
    problems = {p["path"]: p["message"]["zh-CN"] for p in r.json()["problems"]}
    assert "# 只能单独作为最后一级" in problems["/topic_pattern"]
    assert problems["/state_expr"].startswith("状态表达式：语法错误")
    assert "工艺参数第 2 行「press」的表达式" in problems["/tags/1/expression"]
    assert "上限必须大于下限" in problems["/tags/1/high_limit"]
    assert _rows(engine, "SELECT count(*) FROM device_mapping WHERE code = 'BAD'") == [(0,)]


def test_engine_forms_refused_by_hand_except_stop_reason_and_note(equipment: dict[str, Any], client: Any, engine: sa.engine.Engine) -> None:
    cnc = equipment["machines"]["CNC-1"]
    DeviceIngest(engine, form_registry()).ingest("plant/hall1/CNC-1/data", _msg(1, "down", 0, 0, 20, 0), T0)
    admin = equipment["admin"]
    r = client.post("/api/records/machine_state", json={"machine": cnc, "state": "running", "started_at": T0.isoformat()},
                    headers=admin)
    assert r.status_code == 409 and "设备状态由设备数据自动记录，不能手工新建" in r.json()["message"]["zh-CN"]
    r = client.post("/api/records/machine_count", json={"machine": cnc, "bucket_start": T0.isoformat(), "total": 5}, headers=admin)
    assert r.status_code == 409
    sid = _rows(engine, "SELECT id FROM machine_state WHERE machine = :m", m=cnc)[0][0]
    reason = _rows(engine, "SELECT id FROM stop_reason WHERE code = 'BRK-MECH'")[0][0]
    row = client.get(f"/api/records/machine_state/{sid}", headers=admin).json()
    r = client.patch(f"/api/records/machine_state/{sid}", json={"state": "running", "row_version": row["row_version"]}, headers=admin)
    assert r.status_code == 409 and "只能填写停机原因、备注" in r.json()["message"]["zh-CN"]
    r = client.patch(f"/api/records/machine_state/{sid}", json={"stop_reason": reason, "note": "主轴异响",
                                                               "row_version": row["row_version"]}, headers=admin)
    assert r.status_code == 200, r.text
    assert client.delete(f"/api/records/machine_state/{sid}", headers=admin).status_code == 409


def test_current_states_and_timeline(equipment: dict[str, Any], client: Any, engine: sa.engine.Engine) -> None:
    cnc = equipment["machines"]["CNC-1"]
    ingest = DeviceIngest(engine, form_registry())
    for m in (_msg(1, "running", 0, 0, 50, 0), _msg(2, "down", 30, 30, 50, 90), _msg(3, "down", 30, 30, 50, 100)):
        ingest.submit("plant/hall1/CNC-1/data", m, T0)
    ingest.flush()
    h = equipment["eqm"]
    r = client.get("/api/devices/states/current", headers=h)
    assert r.status_code == 200, r.text
    mine = [m for m in r.json()["machines"] if m["machine"] == cnc]
    assert mine and mine[0]["state"] == "down" and mine[0]["machine_code"] == "CNC-1" and mine[0]["state_label"]["zh-CN"] == "停机"
    r = client.get(f"/api/devices/machines/{cnc}/timeline", params={"from": T0.isoformat(), "to": (T0 + dt.timedelta(minutes=2)).isoformat()}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(s["state"], s["seconds"]) for s in body["states"]] == [("running", 90.0), ("down", 30.0)]
    assert Decimal(str(body["totals"]["total"])) == 30
    later = dt.datetime.now(UTC) + dt.timedelta(hours=1)
    r = client.get(f"/api/devices/machines/{cnc}/timeline", params={"from": T0.isoformat(), "to": later.isoformat()}, headers=h)
    last = r.json()["states"][-1]
    assert last["open"] and dt.datetime.fromisoformat(last["to"]) <= dt.datetime.now(UTC)    # the current state ends now
    r = client.get(f"/api/devices/machines/{cnc}/timeline", params={"from": T0.isoformat(), "to": (T0 - dt.timedelta(hours=1)).isoformat()}, headers=h)
    assert r.status_code == 422 and "开始时间必须早于结束时间" in r.json()["message"]["zh-CN"]
    assert client.get("/api/devices/machines/999999/timeline", headers=h).status_code == 404
    assert client.get("/api/devices/states/current").status_code == 401


def test_an_alarm_row_set_to_repair_order_opens_one_order(equipment: dict[str, Any], client: Any, engine: sa.engine.Engine) -> None:
    mapping = {**MAPPING, "code": "PRESS", "topic_pattern": "plant/+/+/press", "priority": 5,
               "tags": [{"tag": "pressure", "expression": 'payload["p"]', "unit": "MPa", "low_limit": 2, "high_limit": 8,
                         "deadband": "0.5", "on_alarm": "repair_order"}]}
    r = client.post("/api/records/device_mapping", json=mapping, headers=equipment["admin"])
    assert r.status_code == 201, r.text
    ingest = DeviceIngest(engine, form_registry())
    for seq, p in ((1, 5.0), (2, 1.5), (3, 1.2), (4, 2.2), (5, 1.0)):    # low at 2, stays low, not back by 0.5, still the same alarm
        ingest.submit("plant/hall1/CNC-2/press", {"seq": seq, "p": p, "ts": int((T0 + dt.timedelta(seconds=seq)).timestamp() * 1000)}, T0)
    assert ingest.flush().alarms == 1
    alarms = _rows(engine, "SELECT kind, maintenance_order, cleared_at FROM device_alarm WHERE tag = 'pressure'")
    assert len(alarms) == 1 and alarms[0][0] == "low" and alarms[0][1] and alarms[0][2] is None
    orders = _rows(engine, "SELECT code, machine, source FROM maintenance_order WHERE code = :c", c=alarms[0][1])
    assert orders == [(alarms[0][1], equipment["machines"]["CNC-2"], "device_alarm")]


def test_editing_only_a_process_value_row_is_checked_too(equipment: dict[str, Any], client: Any, engine: sa.engine.Engine) -> None:
    admin = equipment["admin"]
    mid = _rows(engine, "SELECT id FROM device_mapping WHERE code = 'LINE'")[0][0]
    row = client.get(f"/api/records/device_mapping/{mid}", headers=admin).json()
    tags = [{"tag": "temp", "expression": 'payload["temp"', "high_limit": 80}]
    r = client.patch(f"/api/records/device_mapping/{mid}", json={"tags": tags, "row_version": row["row_version"]}, headers=admin)
    assert r.status_code == 422, r.text
    assert "工艺参数第 1 行「temp」的表达式" in r.json()["problems"][0]["message"]["zh-CN"]
    assert _rows(engine, "SELECT expression FROM device_mapping__tags WHERE parent_id = :m", m=mid) == [('payload["temp"]',)]


def test_implausible_values_are_refused_and_logged_once(equipment: dict[str, Any], engine: sa.engine.Engine,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    """Odd values (a text message id, a negative or huge counter, a time in 2300 or before 1970) count nothing;
    each kind is logged once per machine in zh and en, naming the field."""
    cnc = equipment["machines"]["CNC-1"]
    ingest = DeviceIngest(engine, form_registry())
    now = dt.datetime.now(UTC)
    ms = int(now.timestamp() * 1000)
    good = {"state": "running", "good": 0, "temp": 20}
    stream = [{**good, "seq": 1, "total": 10, "ts": ms - 60_000},
              {**good, "seq": "abc", "total": 20, "ts": ms - 50_000},      # message id not a number: refused
              {**good, "seq": 2, "total": -50, "ts": ms - 40_000},        # negative counter: not counted
              {**good, "seq": 3, "total": 1e308, "ts": ms - 35_000},      # beyond any counter: not counted
              {**good, "seq": 4, "total": 1e18, "ts": ms - 32_000},
              {**good, "seq": 5, "total": 20, "ts": "2300-01-01"},        # time far ahead: refused
              {**good, "seq": 6, "total": 25, "ts": -99999999999999},     # time before 1970: refused
              {**good, "seq": 7, "total": 60, "ts": ms - 30_000},         # +50 from 10
              {**good, "seq": 8, "total": 200_060, "ts": ms - 20_000},    # a jump of 200,000 > 100,000: not counted, new base
              {**good, "seq": 9, "total": 200_065, "ts": ms - 10_000},    # +5
              {**good, "seq": 10, "total": -1, "ts": ms - 5_000}]
    with caplog.at_level("WARNING", logger="mom.devices"):
        for m in stream + [{**m, "seq": (m["seq"] + 100) if isinstance(m["seq"], int) else "xyz"} for m in stream[1:7]]:
            ingest.submit("plant/hall1/CNC-1/data", m, now)
        rep = ingest.flush()
    assert rep.malformed == 6, rep               # seq abc / xyz, two times in 2300, two before 1970
    total = _rows(engine, "SELECT COALESCE(SUM(total), 0) FROM machine_count WHERE machine = :m", m=cnc)[0][0]
    assert float(total) == 55
    lines = [r.getMessage() for r in caplog.records if "不可信" in r.getMessage() or "不是" in r.getMessage()
             or "超过上限" in r.getMessage()]
    assert len([x for x in lines if "消息号" in x]) == 1 and len([x for x in lines if "时间戳表达式" in x]) == 1
    assert len([x for x in lines if "总计数表达式" in x and "不是 0 或正的有限数" in x]) == 1
    assert len([x for x in lines if "超过上限 100000" in x]) == 1
    assert all("CNC-1" in x and " / device data: machine CNC-1" in x for x in lines)


def test_a_broken_mapping_is_logged_once_and_shown_in_status_until_fixed(equipment: dict[str, Any], client: Any,
                                                                         engine: sa.engine.Engine,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    from mom.engines.devices.status import health

    admin = equipment["admin"]
    r = client.post("/api/records/device_mapping", json={**MAPPING, "code": "BROKEN", "topic_pattern": "hall9/+/data",
                                                         "machine_expr": "segments[9]", "tags": []}, headers=admin)
    assert r.status_code == 201, r.text
    ingest = DeviceIngest(engine, form_registry())
    now = dt.datetime.now(UTC)
    with caplog.at_level("WARNING", logger="mom.devices"):
        for i in range(5):
            ingest.submit("hall9/CNC-1/data", {"seq": i + 1, "state": "running", "ts": int(now.timestamp() * 1000)}, now)
        ingest.submit("other/CNC-1/x", {"seq": 1}, now)                       # no mapping for this topic
        assert ingest.flush().malformed == 5
        ingest.submit("hall9/CNC-1/data", {"seq": 9, "state": "running"}, now)
        ingest.flush()
    lines = [r.getMessage() for r in caplog.records if "BROKEN" in r.getMessage()]
    assert len(lines) == 1 and "取不到设备编号" in lines[0] and "gives no machine code" in lines[0]
    with read_tx(engine) as conn:
        keys = {u["key"] for u in health(conn, form_registry(), dt.datetime.now(UTC))["unknown"]}
    assert {"mapping:BROKEN", "topic:other/CNC-1/x"} <= keys
    mid = _rows(engine, "SELECT id FROM device_mapping WHERE code = 'BROKEN'")[0][0]
    row = client.get(f"/api/records/device_mapping/{mid}", headers=admin).json()
    r = client.patch(f"/api/records/device_mapping/{mid}", json={"machine_expr": "segments[1]", "row_version": row["row_version"]},
                     headers=admin)
    assert r.status_code == 200, r.text
    r = client.post("/api/records/device_mapping", json={**MAPPING, "code": "OTHER", "topic_pattern": "other/+/x", "tags": []},
                    headers=admin)
    assert r.status_code == 201, r.text
    with read_tx(engine) as conn:
        keys = {u["key"] for u in health(conn, form_registry(), dt.datetime.now(UTC))["unknown"]}
    assert "mapping:BROKEN" not in keys and "topic:other/CNC-1/x" not in keys
