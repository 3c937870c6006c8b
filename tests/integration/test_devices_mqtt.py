"""Device data over the real MQTT broker (Mosquitto at 127.0.0.1:1883), SQLite and PostgreSQL: the consumer
(`mom devices listen`, a separate process) is killed with SIGKILL in the middle of the simulator's stream and
started again; what the platform counted equals the simulator's own totals — nothing lost, nothing doubled;
a malformed and an oversized payload are skipped without stopping the stream; an unknown machine is
reported once (docs/devices.md, issue 23 item 6)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion

from mom.connectors.mqtt import simulator
from mom.engines.packs import manager
from mom.engines.records import service as S
from mom.engines.records.context import Ctx
from mom.platform.auth import service as auth
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.settings import Settings
from tests.conftest import fixture_hash

CODES = ["SIM-001", "SIM-002", "SIM-003"]
#: messages per machine; at 120 a second in all, a consumer down for 5 s leaves 600 queued — under Mosquitto's
#: default max_queued_messages (1000), beyond which the broker drops a session's messages (docs/devices.md)
N = 200


def _broker() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 1883), timeout=2):
            return True
    except OSError:
        return False


#: two consumer processes start (each imports the platform: 5–30 s on a loaded 2-core machine)
pytestmark = [pytest.mark.skipif(not _broker(), reason="no MQTT broker at 127.0.0.1:1883 (.ci/run starts Mosquitto)"),
              pytest.mark.timeout(300)]


class Consumer:
    """`mom devices listen` in its own process; its log lines collected."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "mom.platform.cli", "devices", "listen"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float = 90) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(text in ln for ln in self.lines):
                return
            assert self.proc.poll() is None, "".join(self.lines[-30:])
            time.sleep(0.1)
        raise AssertionError(f"consumer never logged {text!r}: {''.join(self.lines[-30:])}")

    def stop(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(60)


def _scalar(engine: sa.engine.Engine, sql: str, **params: Any) -> Any:
    with read_tx(engine) as conn:
        return conn.execute(sa.text(sql), params).scalar()


def _publish_raw(topic_payloads: list[tuple[str, bytes]]) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"h2-raw-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5)
    c.connect("127.0.0.1", 1883)
    c.loop_start()
    for topic, payload in topic_payloads:
        c.publish(topic, payload, qos=1).wait_for_publish(30)
    c.disconnect()
    c.loop_stop()


def _forget_session(client_id: str) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.connect("127.0.0.1", 1883, clean_start=True)
    c.disconnect()


def test_kill_9_mid_stream_loses_nothing_and_doubles_nothing(core_pack: sa.engine.Engine, db_url: str, tmp_path: Path) -> None:
    engine = core_pack
    manager.execute(engine, None, "install", "equipment", forms_factory=form_registry)
    uid = uuid.uuid4().hex[:10]
    prefix = f"momtest/{uid}"
    forms = form_registry()
    with write_tx(engine) as conn:
        auth.create_user(conn, username="eqm", password_hash=fixture_hash("eqmpass123"), display_name="设备主管", roles=["equipment_manager"])
        wc = conn.execute(sa.text("SELECT id FROM work_center ORDER BY id")).scalar()
        S.create_records(conn=conn, registry=forms, ctx=Ctx.system(), form="machine",
                         docs=[{"code": c, "name": f"模拟设备 {c}", "work_center": wc} for c in CODES])
        S.create_records(conn=conn, registry=forms, ctx=Ctx.system(), form="device_mapping",
                         docs=[{**simulator.MAPPING, "code": f"T{uid}", "topic_pattern": f"{prefix}/+/data"}])
    client_id = f"h2-test-{uid}"
    env = {**os.environ, "MOM_DATABASE_URL": db_url, "MOM_DATA_DIR": str(tmp_path / "data"), "MOM_MQTT_CLIENT_ID": client_id,
           "MOM_MQTT_TOPICS": f"{prefix}/#", "MOM_MQTT_FLUSH_MS": "100"}
    consumer = Consumer(env)
    result: dict[str, Any] = {}
    try:
        consumer.wait_for("connected to")
        sim = threading.Thread(target=lambda: result.update(r=simulator.run(
            Settings(database_url=db_url), CODES, messages=N, rate=120, prefix=prefix, seed=23, spike_every=70)))
        sim.start()
        end = time.monotonic() + 60
        while not _scalar(engine, "SELECT count(*) FROM machine_count") and time.monotonic() < end:
            time.sleep(0.05)
        consumer.stop(signal.SIGKILL)                       # mid-stream: the simulator keeps publishing
        assert sim.is_alive(), "the stream ended before the consumer was killed: nothing was tested"
        written_before = _scalar(engine, "SELECT sum(seq) FROM mom_device_cursor")
        consumer = Consumer(env)                            # same client id: the broker kept the session
        consumer.wait_for("connected to")
        _publish_raw([(f"{prefix}/SIM-001/data", b"{not json"), (f"{prefix}/SIM-002/data", b"[1, 2]"),
                      (f"{prefix}/SIM-003/data", b'{"pad": "' + b"x" * 70_000 + b'"}')]
                     + [(f"{prefix}/NOPE-{uid[:4]}/data", b'{"seq": %d, "state": "running"}' % i) for i in range(1, 4)])
        sim.join(120)
        res = result["r"]
        end = time.monotonic() + 90
        while time.monotonic() < end and _scalar(engine, "SELECT count(*) FROM mom_device_cursor WHERE seq = :n", n=N) < len(CODES):
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        consumer.stop(signal.SIGTERM)
        _forget_session(client_id)
    assert written_before is not None and written_before < len(CODES) * N
    for code in CODES:
        sim_m = res.machines[code]
        mid = _scalar(engine, "SELECT id FROM machine WHERE code = :c", c=code)
        counted = [float(_scalar(engine, f"SELECT coalesce(sum({k}), 0) FROM machine_count WHERE machine = :m", m=mid))
                   for k in ("total", "good", "scrap")]
        assert counted == [sim_m["total"], sim_m["good"], sim_m["scrap"]], code
        states = _scalar(engine, "SELECT count(*) FROM machine_state WHERE machine = :m", m=mid)
        assert states == sim_m["state_changes"] + 1, code
        assert _scalar(engine, "SELECT state FROM machine_state WHERE machine = :m AND ended_at IS NULL", m=mid) == sim_m["state"]
        samples = _scalar(engine, "SELECT sum(n) FROM process_value WHERE machine = :m AND tag = 'temp'", m=mid)
        assert samples == N, code                         # every message's temperature once
    skipped = "".join(consumer.lines)
    assert "not JSON" in skipped and "not an object" in skipped and "over the limit" in skipped
    assert _scalar(engine, "SELECT messages FROM mom_device_unknown WHERE key = :k", k=f"machine:NOPE-{uid[:4]}") == 3
    assert _scalar(engine, "SELECT count(*) FROM mom_notification WHERE kind = 'device_unknown'") == 1
    assert _scalar(engine, "SELECT count(*) FROM device_alarm WHERE tag = 'temp'") >= 1
