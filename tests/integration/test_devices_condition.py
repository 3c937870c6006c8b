"""Condition monitoring (状态监测, issue 23) on SQLite and PostgreSQL: drift alarms from 状态监测规则 with the SPC
engine's CUSUM and EWMA over per-minute means, fed flush by flush; vibration features of waveforms stored as
process values with an ISO 10816 zone-D alarm; the health score API; condition-based PM opening one order per
episode.

Reference data: D. C. Montgomery, *Introduction to Statistical Quality Control*, 6th ed., §9.1 Table 9.1 (30
observations, μ0 = 10, σ = 1): the tabular CUSUM with k = 0.5, h = 5 signals at observation 29 with
C⁺₂₉ = 5.28, N⁺ = 7 and an estimated new mean 10 + 0.5 + 5.28/7 = 11.25 (Table 9.2, eq. 9.6); §9.2 Example 9.2:
the EWMA with λ = 0.1, L = 2.7 on the same data signals at observation 29 (z₂₉ = 10.65 > UCL = 10.62).
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from mom.engines.devices.ingest import DeviceIngest
from mom.engines.packs import manager
from mom.engines.reports import spc
from mom.platform.auth import service as auth
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx, write_tx
from tests.conftest import fixture_hash, login
from tests.unit.test_spc_reference import MONTGOMERY_9_1

UTC = dt.timezone.utc
T0 = dt.datetime.now(UTC).replace(second=0, microsecond=0) - dt.timedelta(hours=2)     # health reads the last 24 h
MAPPING = {"code": "CM", "name": "状态监测", "topic_pattern": "cm/+/data", "machine_expr": "segments[1]",
           "timestamp_expr": 'payload["ts"]', "message_id_expr": 'payload["seq"]',
           "waveform_expr": 'payload["vib"]', "sample_rate_expr": 'payload["fs"]', "waveform_tag": "vib",
           "waveform_unit": "mm/s", "bands": "10-100,100-1000", "iso_class": "I", "waveform_alarm": "notify",
           "tags": [{"tag": "x", "expression": 'payload["x"]', "on_alarm": "none"}]}


@pytest.fixture
def cm(core_pack: sa.engine.Engine, client: Any, engine: sa.engine.Engine) -> dict[str, Any]:
    manager.execute(engine, None, "install", "equipment", forms_factory=form_registry)
    with write_tx(engine) as conn:
        auth.create_user(conn, username="boss", password_hash=fixture_hash("bosspass123"), display_name="管理员", is_admin=True)
        auth.create_user(conn, username="eqm", password_hash=fixture_hash("eqmpass123"), display_name="设备主管老刘",
                         roles=["equipment_manager"])
        auth.create_user(conn, username="nobody", password_hash=fixture_hash("nobodypass123"), display_name="访客")
    admin = login(client, "boss", "bosspass123")
    r = client.post("/api/records/device_mapping", json=MAPPING, headers=admin)
    assert r.status_code == 201, r.text
    with read_tx(engine) as conn:
        machines = dict(conn.execute(sa.text("SELECT code, id FROM machine WHERE deleted_at IS NULL")).all())
    return {"admin": admin, "machines": machines, "eqm": login(client, "eqm", "eqmpass123"), "client": client,
            "nobody": login(client, "nobody", "nobodypass123")}


def _rule(cm: dict[str, Any], **body: Any) -> dict[str, Any]:
    doc = {"name": "主轴温度漂移", "machine": cm["machines"]["CNC-1"], "tag": "x", **body}
    r = cm["client"].post("/api/records/condition_rule", json=doc, headers=cm["eqm"])
    assert r.status_code == 201, r.text
    return r.json()


def _feed(engine: sa.engine.Engine, values: list[float], *, start: int = 0, flushes: int = 1, machine: str = "CNC-1") -> int:
    """One message a minute (value ``x``), in ``flushes`` flushes; then one more minute so the last one is a point."""
    ingest = DeviceIngest(engine, form_registry())
    msgs = [{"seq": start + i + 1, "x": v, "ts": int((T0 + dt.timedelta(minutes=start + i)).timestamp() * 1000)}
            for i, v in enumerate([*values, values[-1]])]
    step = math.ceil(len(msgs) / flushes)
    raised = 0
    for i in range(0, len(msgs), step):
        for m in msgs[i:i + step]:
            ingest.submit(f"cm/{machine}/data", m, T0)
        raised += ingest.flush().alarms
    return raised


def _alarms(engine: sa.engine.Engine, kind: str = "drift") -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        return [dict(r) for r in conn.execute(sa.text(
            "SELECT tag, kind, value, limit_value, raised_at, cleared_at, condition_rule, direction FROM device_alarm "
            "WHERE kind = :k ORDER BY id"), {"k": kind}).mappings()]


def _record(cm: dict[str, Any], rid: int) -> dict[str, Any]:
    r = cm["client"].get(f"/api/records/condition_rule/{rid}", headers=cm["eqm"])
    assert r.status_code == 200, r.text
    return r.json()


def test_cusum_rule_signals_at_montgomery_observation_29_fed_in_three_flushes(cm: dict[str, Any],
                                                                              engine: sa.engine.Engine) -> None:
    rule = _rule(cm, method="cusum", cusum_k=0.5, cusum_h=5, target=10, sigma=1, on_alarm="notify")
    assert _feed(engine, MONTGOMERY_9_1, flushes=3) == 1
    [alarm] = _alarms(engine)
    assert alarm["condition_rule"] == rule["id"] and alarm["direction"] == "up" and alarm["cleared_at"] is None
    assert float(alarm["value"]) == pytest.approx(5.28, abs=0.005) and float(alarm["limit_value"]) == 5
    raised = alarm["raised_at"]
    raised = dt.datetime.fromisoformat(raised) if isinstance(raised, str) else raised
    assert raised.replace(tzinfo=UTC) if raised.tzinfo is None else raised == T0 + dt.timedelta(minutes=29)  # observation 29's end
    with read_tx(engine) as conn:
        bell = conn.execute(sa.text("SELECT n.title FROM mom_notification n JOIN mom_user u ON u.id = n.user_id "
                                    "WHERE u.username = 'eqm' AND n.kind = 'device_alarm'")).scalars().all()
    assert len(bell) == 1 and "向上漂移" in bell[0] and "11.25" in bell[0] and "CNC-1" in bell[0]
    got = _record(cm, rule["id"])
    assert got["points"] == 30 and float(got["base_target"]) == 10 and float(got["upper"]) == 5
    assert "engine_state" not in got or got["engine_state"] is None      # the engine's state is not shown


def test_ewma_rules_baseline_estimate_and_montgomery_example_9_2(cm: dict[str, Any], engine: sa.engine.Engine) -> None:
    typed = _rule(cm, name="EWMA λ0.1", method="ewma", lam=0.1, ewma_l=2.7, target=10, sigma=1, on_alarm="none")
    learnt = _rule(cm, name="EWMA 基准期", method="ewma", lam=0.2, ewma_l=3, baseline_points=20)
    assert _feed(engine, MONTGOMERY_9_1, flushes=4) == 1
    [alarm] = _alarms(engine)
    assert alarm["condition_rule"] == typed["id"] and float(alarm["value"]) == pytest.approx(10.6468, abs=5e-4)
    assert float(alarm["limit_value"]) == pytest.approx(10.62, abs=0.005)
    # the baseline: the first 20 minute means, estimated as the SPC engine does (mean, MR̄/d2); then 10 points
    base = spc.ewma(MONTGOMERY_9_1[:20])
    rest = spc.ewma(MONTGOMERY_9_1[20:], lam=0.2, L=3, target=base["target"], sigma=base["sigma"])["charts"][0]
    got = _record(cm, learnt["id"])
    assert float(got["base_target"]) == pytest.approx(base["target"], abs=1e-6)
    assert float(got["base_sigma"]) == pytest.approx(base["sigma"], abs=1e-6)
    assert got["points"] == 10 and float(got["statistic"]) == pytest.approx(rest["points"][-1], abs=1e-6)
    assert float(got["upper"]) == pytest.approx(rest["ucl_points"][-1], abs=1e-6)
    # editing the rule starts it afresh (a new baseline); the engineer's save is never refused by the engine's writes
    r = cm["client"].patch(f"/api/records/condition_rule/{learnt['id']}", json={"lam": 0.3, "row_version": got["row_version"]},
                              headers=cm["eqm"])
    assert r.status_code == 200, r.text
    _feed(engine, [10.0, 10.2], start=40)
    assert _record(cm, learnt["id"])["points"] == 0


def test_drift_clears_once_back_in_control_and_a_new_episode_is_a_new_alarm(cm: dict[str, Any], engine: sa.engine.Engine) -> None:
    _rule(cm, method="ewma", lam=0.5, ewma_l=3, target=0, sigma=1, min_points=1)
    _feed(engine, [0.0, 0.1, 5.0, 5.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0, 5.0])
    alarms = _alarms(engine)
    assert len(alarms) == 2 and alarms[0]["cleared_at"] is not None and alarms[1]["cleared_at"] is None


def _wave_msg(seq: int, amp: float, minute: int, n: int = 4000, x: float = 1.0) -> dict[str, Any]:
    t = np.arange(n) / 2000.0
    return {"seq": seq, "x": x, "fs": 2000, "vib": [round(float(v), 6) for v in amp * np.sin(2 * math.pi * 50 * t)],
            "ts": int((T0 + dt.timedelta(minutes=minute)).timestamp() * 1000)}


def test_waveform_features_become_process_values_with_an_iso_zone_d_alarm(cm: dict[str, Any], engine: sa.engine.Engine) -> None:
    ingest = DeviceIngest(engine, form_registry())
    ingest.submit("cm/CNC-1/data", _wave_msg(1, 2.0, 0), T0)               # RMS 1.414 mm/s: class I zone B
    too_long = _wave_msg(2, 2.0, 1, n=70_000, x=7.0)                       # beyond 65,536 samples: features skipped
    ingest.submit("cm/CNC-1/data", too_long, T0)
    rep = ingest.flush()
    assert rep.applied == 2 and rep.implausible == 1 and rep.alarms == 0
    with read_tx(engine) as conn:
        vals = {tag: (float(last), unit) for tag, last, unit in conn.execute(sa.text(
            "SELECT tag, last, unit FROM process_value WHERE tag LIKE 'vib%'"))}
        x1 = conn.execute(sa.text("SELECT last FROM process_value WHERE tag = 'x' ORDER BY bucket_start DESC")).first()[0]
    assert vals["vib_rms"][0] == pytest.approx(math.sqrt(2), abs=1e-3) and vals["vib_rms"][1] == "mm/s"
    assert vals["vib_peak"][0] == pytest.approx(2.0, abs=1e-3) and vals["vib_crest"][0] == pytest.approx(math.sqrt(2), abs=2e-3)
    assert vals["vib_band_10_100"][0] == pytest.approx(math.sqrt(2), rel=0.02) and vals["vib_band_100_1000"][0] < 0.03
    assert float(x1) == 7.0                                # the message's other values were kept
    assert ingest.ingest("cm/CNC-1/data", _wave_msg(3, 7.0, 2), T0).alarms == 1    # 4.95 mm/s ≥ 4.5: zone D
    [alarm] = _alarms(engine, "high")
    assert alarm["tag"] == "vib_rms" and float(alarm["limit_value"]) == 4.5
    health = cm["client"].get("/api/devices/health", headers=cm["eqm"]).json()["machines"]
    cnc = next(m for m in health if m["machine_code"] == "CNC-1")
    kinds = {r["kind"]: r["points"] for r in cnc["reasons"]}
    assert kinds == {"limit": -10, "vibration": -45} and cnc["score"] == 45 and cnc["band"] == "poor"
    assert any("D 区" in r["text"]["zh-CN"] for r in cnc["reasons"])


def test_mapping_waveform_settings_are_checked_in_words(cm: dict[str, Any]) -> None:
    bad = {**MAPPING, "code": "CM2", "sample_rate_expr": None, "bands": "100-10", "waveform_tag": "1vib"}
    r = cm["client"].post("/api/records/device_mapping", json=bad, headers=cm["admin"])
    assert r.status_code == 422, r.text
    text = r.text
    assert "采样率表达式" in text and "下限必须小于上限" in text and "振动特征名" in text


def test_health_api_follows_permissions(cm: dict[str, Any]) -> None:
    r = cm["client"].get("/api/devices/health", headers=cm["nobody"])
    assert r.status_code == 403 and "设备报警" in r.text


def test_condition_pm_opens_one_order_per_episode(cm: dict[str, Any], engine: sa.engine.Engine) -> None:
    _rule(cm, method="cusum", cusum_k=0.5, cusum_h=5, target=10, sigma=1, on_alarm="none")
    r = cm["client"].post("/api/records/pm_plan", json={
        "name": "主轴轴承检查（状态触发）", "machine": cm["machines"]["CNC-1"], "trigger": "condition", "interval": 60,
        "alarm_tag": "x", "duration_min": 120}, headers=cm["eqm"])
    assert r.status_code == 201, r.text
    plan = r.json()
    _feed(engine, MONTGOMERY_9_1, flushes=2)               # the drift alarm at observation 29 opens the order
    _feed(engine, [12.0, 12.5, 12.2], start=40)            # still drifting: the same episode, no second order

    def orders() -> list[dict[str, Any]]:
        with read_tx(engine) as conn:
            return [dict(o) for o in conn.execute(sa.text("SELECT code, kind, note, status FROM maintenance_order "
                                                          "WHERE pm_plan = :p"), {"p": plan["id"]}).mappings()]
    [order] = orders()
    assert order["kind"] == "pm" and "漂移报警" in order["note"] and "x" in order["note"]
    from mom.engines.devices import condition_pm
    from mom.engines.records.context import Ctx
    with write_tx(engine) as conn:                          # the schedule tick: still the same episode
        assert condition_pm.run(conn, form_registry(), Ctx.system()) == []
    got = cm["client"].get(f"/api/records/pm_plan/{plan['id']}", headers=cm["eqm"]).json()
    assert got["condition_since"] is not None and float(got["last_reading"]) == 80
    assert len(orders()) == 1


def test_the_simulators_drift_and_waveforms_reach_a_drift_alarm(cm: dict[str, Any], engine: sa.engine.Engine) -> None:
    """What `mom devices simulate --setup --drift-after N --waveform-every M` shows, without a broker: the
    simulator's documents through its own mapping and the EWMA rule --setup adds, one message every 6 s."""
    import random

    from mom.connectors.mqtt.simulator import MAPPING as SIM, SimMachine
    from mom.engines.records.context import Ctx
    from mom.platform.cli.devices_cmds import _sim_rules

    r = cm["client"].post("/api/records/device_mapping", json=SIM, headers=cm["admin"])
    assert r.status_code == 201, r.text
    with write_tx(engine) as conn:
        assert _sim_rules(conn, form_registry(), Ctx.system(), ["CNC-1"]) == ["1 条状态监测规则 / condition rules"]
    sim, rng, ingest = SimMachine("CNC-1"), random.Random(7), DeviceIngest(engine, form_registry())
    start = T0 - dt.timedelta(hours=1)
    for i in range(600):                                   # an hour; the drift starts after 30 minutes
        doc = sim.step(rng, False, drift=i >= 300, wave=i % 50 == 0)
        doc["ts"] = int((start + dt.timedelta(seconds=6 * i)).timestamp() * 1000)
        doc["state"] = "running"
        ingest.submit("mom/sim/CNC-1/data", doc, T0)
        if i % 100 == 99:
            ingest.flush()
    drift = [a for a in _alarms(engine) if a["tag"] == "temp"]
    assert len(drift) == 1
    at = drift[0]["raised_at"]
    at = dt.datetime.fromisoformat(at) if isinstance(at, str) else at
    assert (at if at.tzinfo else at.replace(tzinfo=UTC)) > start + dt.timedelta(minutes=30)
    with read_tx(engine) as conn:
        rms = conn.execute(sa.text("SELECT count(*) FROM process_value WHERE tag = 'vib_rms'")).scalar()
    assert rms == 12


def test_an_open_drift_alarm_is_at_best_watch_not_good(cm: dict[str, Any], engine: sa.engine.Engine) -> None:
    """Review finding: one open drift alarm scores 100 − 20 = 80, which the plain bands call 良好; a drift is what
    condition monitoring warns about early, so the band is 注意 (health.py, docs/devices.md 健康度)."""
    _rule(cm, method="cusum", cusum_k=0.5, cusum_h=5, target=10, sigma=1, on_alarm="none")
    _feed(engine, MONTGOMERY_9_1, flushes=2)
    assert len(_alarms(engine)) == 1
    r = cm["client"].get("/api/devices/health", headers=cm["eqm"])
    assert r.status_code == 200, r.text
    [row] = [m for m in r.json()["machines"] if m["machine_code"] == "CNC-1"]
    assert row["score"] == 80 and row["band"] == "watch" and row["band_label"]["zh-CN"] == "注意", row
    from mom.engines.devices.health import band
    assert band(80)["band_label"]["zh-CN"] == "良好" and band(45, drifting=True)["band"] == "poor"


def test_a_condition_plan_is_checked_on_save(cm: dict[str, Any], engine: sa.engine.Engine) -> None:
    """Review finding: a 状态触发 plan took interval 150 (health runs 0–100, so 「健康度 70 低于 150」 always) and the
    drift alarm tag "no such tag!"; both are refused in words with nothing written, on create and on edit."""
    _rule(cm, method="cusum", cusum_k=0.5, cusum_h=5, target=10, sigma=1, on_alarm="none")
    doc = {"name": "主轴轴承检查（状态触发）", "machine": cm["machines"]["CNC-1"], "trigger": "condition", "interval": 150,
           "duration_min": 120}
    client, h = cm["client"], cm["eqm"]

    def plans() -> int:
        with read_tx(engine) as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM pm_plan WHERE trigger = 'condition'")).scalar())
    r = client.post("/api/records/pm_plan", json=doc, headers=h)
    assert r.status_code == 422 and "健康度阈值，须在 1–100 之间" in r.json()["message"]["zh-CN"], r.text
    assert [p["path"] for p in r.json()["problems"]] == ["/interval"]
    r = client.post("/api/records/pm_plan", json={**doc, "interval": 60, "alarm_tag": "no such tag!"}, headers=h)
    body = r.json()
    assert r.status_code == 422 and "漂移报警参数「no such tag!」没有状态监测规则监测" in body["message"]["zh-CN"], r.text
    assert "规则监测的参数有 x" in body["message"]["zh-CN"] and [p["path"] for p in body["problems"]] == ["/alarm_tag"]
    assert plans() == 0
    ok = client.post("/api/records/pm_plan", json={**doc, "interval": 60, "alarm_tag": "x"}, headers=h)
    assert ok.status_code == 201, ok.text
    edit = client.patch(f"/api/records/pm_plan/{ok.json()['id']}", json={"interval": 0.5, "row_version": ok.json()["row_version"]},
                        headers=h)
    assert edit.status_code == 422 and "1–100" in edit.json()["message"]["zh-CN"], edit.text
    calendar = client.post("/api/records/pm_plan", json={**doc, "trigger": "calendar", "interval": 150}, headers=h)
    assert calendar.status_code == 201, calendar.text       # 150 days is a fine calendar interval
