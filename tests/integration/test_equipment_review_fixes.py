"""Review findings on the equipment demo (docs/devices.md 模拟器): on a demo database `mom devices simulate
--setup` used to add mapping SIM at priority 0 beside the demo's DEMO-PLANT (same topic, priority 10), which
won — no vibration values; --setup now raises SIM above it and says so. The demo's repair order note reads in
Chinese first. `--drift-after` past the last message, or a run too short for per-minute means, is pointed out."""
from __future__ import annotations

import datetime as dt
import random
from typing import Any

import sqlalchemy as sa

from mom.connectors.mqtt.simulator import SimMachine
from mom.engines.devices.ingest import DeviceIngest
from mom.engines.forms.fieldtypes import plant_tz
from mom.platform.cli import demo_equipment
from mom.platform.cli.devices_cmds import _drift_notes, _setup
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx

UTC = dt.timezone.utc


def test_simulate_setup_on_a_demo_database_takes_the_simulators_messages(plant: Any, engine: sa.engine.Engine,
                                                                        cli: Any) -> None:
    with read_tx(engine) as conn:
        assert conn.execute(sa.text("SELECT priority FROM device_mapping WHERE code = 'DEMO-PLANT'")).scalar() == 10
    lines = _setup(["SIM-001", "SIM-002"])                  # what `mom devices simulate --setup` runs first
    assert any("优先级为 11" in x and "DEMO-PLANT" in x for x in lines), lines
    assert not any("DEMO-PLANT" in x for x in _setup(["SIM-001", "SIM-002"]))     # again: nothing to say
    with read_tx(engine) as conn:
        assert conn.execute(sa.text("SELECT priority FROM device_mapping WHERE code = 'SIM'")).scalar() == 11
    sim, rng, ingest = SimMachine("SIM-001"), random.Random(3), DeviceIngest(engine, form_registry())
    now = dt.datetime.now(UTC)
    for i in range(100):
        doc = sim.step(rng, False, wave=i % 25 == 0)
        doc["ts"] = int((now - dt.timedelta(minutes=10) + dt.timedelta(seconds=6 * i)).timestamp() * 1000)
        ingest.submit("mom/sim/SIM-001/data", doc, now)
    ingest.flush()
    with read_tx(engine) as conn:
        tags = set(conn.execute(sa.text("SELECT DISTINCT pv.tag FROM process_value pv JOIN machine m ON m.id = pv.machine "
                                        "WHERE m.code = 'SIM-001'")).scalars())
    assert {"temp", "vib_rms", "vib_peak"} <= tags, tags


def test_the_demo_repair_order_note_is_chinese_first(plant: Any, engine: sa.engine.Engine) -> None:
    list(demo_equipment.load_equipment_history(engine, form_registry(), plant_tz("Asia/Shanghai")))
    with read_tx(engine) as conn:
        [note] = conn.execute(sa.text("SELECT note FROM maintenance_order WHERE kind = 'repair'")).scalars()
    assert note == "主轴异响、加工尺寸超差，停机待修（演示） / spindle noise, parts out of tolerance: stopped for repair (demo)", note


def test_drift_after_that_cannot_show_a_drift_is_pointed_out() -> None:
    [past] = _drift_notes(300, 100, 5, 200)                 # the docs' old command: the drift never starts
    assert "不会出现漂移" in past and "--messages 100" in past
    [short] = _drift_notes(300, 1000, 5, 200)               # 25 s: too short for per-minute means
    assert "约 25 秒" in short and "--messages 900 --rate 6" in short
    assert _drift_notes(300, 900, 2, 6) == [] and _drift_notes(0, 100, 5, 200) == []
