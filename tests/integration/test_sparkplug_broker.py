"""Sparkplug B end to end: an edge node publishes NBIRTH / DBIRTH / DDATA (aliases only) / NDEATH to the
Mosquitto broker at 127.0.0.1:1883; the device consumer (connectors/mqtt/client.py) decodes them with the
Sparkplug decoder and the device ingest turns them into the machine's states and counts — the NDEATH of the
node takes its device's machine down. Skipped when no broker listens."""
from __future__ import annotations

import datetime as dt
import socket
import threading
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from mom.connectors.mqtt.sparkplug import encode_payload
from mom.connectors.mqtt.sparkplug_payload import DataType
from mom.engines.packs import manager
from mom.engines.records import values as V
from mom.engines.records.context import Ctx
from mom.engines.records.service import insert_rows
from mom.platform.composition import form_registry
from mom.platform.db.engine import write_tx
from mom.platform.settings import Settings

UTC = dt.timezone.utc


def _broker_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 1883), timeout=2):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _broker_up(), reason="no MQTT broker at 127.0.0.1:1883")


@pytest.fixture
def sparkplug_shop(core_pack: sa.engine.Engine) -> dict[str, Any]:
    engine = core_pack
    manager.execute(engine, None, "install", "equipment", forms_factory=form_registry, tz=UTC)
    group = f"t{uuid.uuid4().hex[:10]}"
    with write_tx(engine) as conn:
        insert_rows(conn, form_registry().get(conn, "device_mapping"), Ctx.system(tz=UTC), [V.Prepared(values={
            "code": "SPB", "name": "Sparkplug 边缘网关", "active": True, "priority": 0, "format": "sparkplug_b",
            "topic_pattern": f"spBv1.0/{group}/DDATA/edge1/+", "machine_expr": "segments[4]",
            "state_expr": 'payload["metrics"]["State"] if payload["online"] else "down"',
            "total_expr": 'payload["metrics"]["Count/Total"]', "timestamp_expr": 'payload["timestamp_ms"]'},
            children={"tags": []})], audit=False)
    return {"engine": engine, "group": group}


def test_an_edge_nodes_session_becomes_states_and_counts(sparkplug_shop: dict[str, Any]) -> None:
    from mom.connectors.mqtt.client import DeviceConsumer, make_client

    engine, group = sparkplug_shop["engine"], sparkplug_shop["group"]
    settings = Settings(mqtt_topics=f"spBv1.0/{group}/#", mqtt_client_id=f"mom-{group}", mqtt_session_expiry_s=30,
                        mqtt_flush_ms=50)
    consumer = DeviceConsumer(engine, form_registry(), settings)
    done = threading.Event()
    thread = threading.Thread(target=lambda: (consumer.run(idle_exit_s=3.0), done.set()), daemon=True)
    thread.start()
    assert consumer.connected.wait(30)

    aliases = {"State": 1, "Count/Total": 2, "Spindle/Temp": 3}
    types = {"Count/Total": DataType.UInt32, "Spindle/Temp": DataType.Float}
    t0 = int(time.time() * 1000) - 60_000
    pub = make_client(settings, f"edge-{group}")
    pub.connect("127.0.0.1", 1883)
    pub.loop_start()
    node, dev = f"spBv1.0/{group}/{{}}/edge1", f"spBv1.0/{group}/{{}}/edge1/CNC-1"
    sent = [
        (node.format("NBIRTH"), encode_payload({"bdSeq": 4, "Node Control/Rebirth": False}, seq=0, timestamp_ms=t0,
                                               birth=True, aliases={"bdSeq": 100, "Node Control/Rebirth": 101})),
        (dev.format("DBIRTH"), encode_payload({"State": "idle", "Count/Total": 1000, "Spindle/Temp": 31.5}, seq=1,
                                              timestamp_ms=t0, birth=True, aliases=aliases, types=types)),
        (dev.format("DDATA"), encode_payload({"State": "running"}, seq=2, timestamp_ms=t0 + 1000, aliases=aliases)),
        (dev.format("DDATA"), encode_payload({"Count/Total": 1012}, seq=3, timestamp_ms=t0 + 20_000,
                                             aliases=aliases, types=types)),
        (dev.format("DDATA"), b"\x08\x01\xff\xff"),                       # a broken payload: logged, skipped
        (dev.format("DDATA"), encode_payload({"Count/Total": 1030}, seq=4, timestamp_ms=t0 + 40_000,
                                             aliases=aliases, types=types)),
        (node.format("NDEATH"), encode_payload({"bdSeq": 4}, seq=None, timestamp_ms=t0 + 50_000)),
    ]
    for topic, payload in sent:
        pub.publish(topic, payload, qos=1).wait_for_publish(10)
    pub.loop_stop()
    pub.disconnect()
    assert done.wait(60), "the consumer did not go idle"

    assert consumer.skipped == 1
    with engine.connect() as conn:
        st = form_registry().get(conn, "machine_state").main
        states = [s for (s,) in conn.execute(sa.select(st.c.state).order_by(st.c.started_at, st.c.id))]
        ct = form_registry().get(conn, "machine_count").main
        total = conn.execute(sa.select(sa.func.sum(ct.c.total))).scalar_one()
    assert states == ["idle", "running", "down"]
    assert Decimal(total) == Decimal(30)       # 1000 announced at birth is the base: +12, +18
