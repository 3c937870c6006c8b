"""Device data ingestion over MQTT (issue 23 item 7): messages per second sustained into machine states and
minute counts, and the end-to-end lag (simulator's timestamp → committed), against Mosquitto on this machine.

Three processes share the machine: the broker, the simulator (`mom devices simulate`, its own process) and
the platform's consumer (in this process, as `mom devices listen` runs it). Each run:

1. baseline: a bare paho subscriber (QoS 1, no database) receiving the simulator's stream as fast as the
   simulator can publish — the rate this machine's broker and client library reach at all;
2. platform, as fast as it can: the same stream through the consumer into the database — msg/s and the ratio
   to the baseline;
3. platform alone ("drain"): the stream received while writing is held, then written as fast as the platform
   can (decode, write, acknowledge) with the simulator idle — the platform's own capacity on this machine;
4. platform at a fixed rate (``--rate``, default 5,000 msg/s) for ``--seconds``: lag p50/p95 — does it keep up.

    python3 bench/devices_bench.py                      # SQLite in a temporary folder
    python3 bench/devices_bench.py --database-url postgresql://postgres@127.0.0.1:5432/bench_devices

Targets (docs/benchmarks.md): ≥ 5,000 msg/s sustained, lag p95 ≤ 1 s.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion

from mom.connectors.mqtt import simulator
from mom.connectors.mqtt.client import DeviceConsumer, connect, make_client
from mom.engines.packs import manager
from mom.engines.records import service as S
from mom.engines.records.context import Ctx
from mom.platform.composition import form_registry
from mom.platform.db.engine import make_engine, read_tx, write_tx
from mom.platform.db.migrate import upgrade
from mom.platform.settings import Settings, normalize_database_url


def setup(url: str, machines: int, prefix: str) -> sa.engine.Engine:
    engine = make_engine(normalize_database_url(url))
    upgrade(engine)
    with read_tx(engine) as conn:
        have = {r[0] for r in conn.execute(sa.text("SELECT name FROM mom_pack"))}
    if "core" not in have:
        manager.execute(engine, None, "install", "core", forms_factory=form_registry, demo=True)
    if "equipment" not in have:
        manager.execute(engine, None, "install", "equipment", forms_factory=form_registry)
    forms = form_registry()
    codes = simulator.codes(machines, "BENCH")
    with write_tx(engine) as conn:
        have_m = set(conn.execute(sa.text("SELECT code FROM machine")).scalars())
        wc = conn.execute(sa.text("SELECT id FROM work_center ORDER BY id")).scalar()
        new = [{"code": c, "name": c, "work_center": wc} for c in codes if c not in have_m]
        if new:
            S.create_records(conn=conn, registry=forms, ctx=Ctx.system(), form="machine", docs=new)
        S.create_records(conn=conn, registry=forms, ctx=Ctx.system(), form="device_mapping",
                         docs=[{**simulator.MAPPING, "code": f"B{prefix[-8:]}", "topic_pattern": f"{prefix}/+/data"}])
    return engine


def simulate(codes: list[str], per_machine: int, rate: float, prefix: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "mom.platform.cli", "devices", "simulate", "--codes", ",".join(codes),
                             "--messages", str(per_machine), "--rate", str(rate), "--prefix", prefix, "--seed", "7", "--json"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def baseline(settings: Settings, codes: list[str], per_machine: int, prefix: str, env: dict[str, str]) -> float:
    """Messages a second a bare paho subscriber receives of the simulator's full-speed stream."""
    got = [0, 0.0, 0.0]
    total = len(codes) * per_machine

    def on_message(c: Any, u: Any, m: Any) -> None:
        if got[0] == 0:
            got[1] = time.monotonic()
        got[0] += 1
        got[2] = time.monotonic()

    c = make_client(settings, f"bench-raw-{uuid.uuid4().hex[:8]}")
    c.on_message = on_message
    connect(c, settings, persistent=False)
    c.loop_start()
    c.subscribe(f"{prefix}/#", qos=1)
    time.sleep(1)
    p = simulate(codes, per_machine, 0, prefix, env)
    p.communicate(timeout=600)
    end = time.monotonic() + 30
    while got[0] < total and time.monotonic() < end:
        time.sleep(0.05)
    c.disconnect()
    c.loop_stop()
    return got[0] / max(got[2] - got[1], 1e-9)


def platform(engine: sa.engine.Engine, settings: Settings, codes: list[str], per_machine: int, rate: float, prefix: str,
             env: dict[str, str]) -> dict[str, Any]:
    lags: list[float] = []      # the simulator's timestamp → committed (end to end)
    inside: list[float] = []    # received by the consumer → committed (the platform's part)
    done = [0, 0.0, 0.0]

    def on_flush(rep: Any, msgs: list[Any]) -> None:
        now = time.time()
        if done[0] == 0:
            done[1] = time.monotonic()
        done[0] += len(msgs)
        done[2] = time.monotonic()
        lags.extend(now - m.payload["ts"] / 1000 for m in msgs if isinstance(m.payload.get("ts"), int))
        inside.extend(now - m.received_at.timestamp() for m in msgs)

    client_id = f"bench-{uuid.uuid4().hex[:8]}"
    consumer = DeviceConsumer(engine, form_registry(), settings, client_id=client_id, topic_filters=[f"{prefix}/#"],
                              on_flush=on_flush)
    stop = threading.Event()
    t = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    t.start()
    consumer.connected.wait(30)
    time.sleep(0.5)
    p = simulate(codes, per_machine, rate, prefix, env)
    out, _ = p.communicate(timeout=1200)
    sim = json.loads(out)
    total = len(codes) * per_machine
    end = time.monotonic() + 300
    while done[0] < total and time.monotonic() < end:
        time.sleep(0.1)
    stop.set()
    t.join(60)
    lags.sort()
    q = statistics.quantiles(lags, n=100) if len(lags) > 100 else [float("nan")] * 99
    qi = statistics.quantiles(inside, n=100) if len(inside) > 100 else [float("nan")] * 99
    return {"messages": done[0], "expected": total, "msg_per_s": done[0] / max(done[2] - done[1], 1e-9),
            "sim_rate": sim["rate"], "lag_p50_s": q[49], "lag_p95_s": q[94], "lag_max_s": lags[-1] if lags else None,
            "platform_lag_p50_s": qi[49], "platform_lag_p95_s": qi[94],
            "applied": consumer.ingest.totals.applied, "duplicates": consumer.ingest.totals.duplicates}


def drain(engine: sa.engine.Engine, settings: Settings, codes: list[str], per_machine: int, prefix: str,
          env: dict[str, str]) -> dict[str, Any]:
    """The platform alone: the stream is received while writing is held (the broker keeps up to 65,535 unacknowledged
    messages in flight to the consumer), then released — messages a second from release until all are committed and
    acknowledged, with the simulator no longer competing for the CPU."""
    gate = threading.Event()
    done = [0]
    client_id = f"bench-{uuid.uuid4().hex[:8]}"
    consumer = DeviceConsumer(engine, form_registry(), settings, client_id=client_id, topic_filters=[f"{prefix}/#"],
                              on_flush=lambda rep, msgs: done.__setitem__(0, done[0] + len(msgs)))
    flush = consumer.ingest.flush

    def held(batch: Any = None) -> Any:
        gate.wait()
        return flush(batch)
    consumer.ingest.flush = held  # type: ignore[method-assign]
    stop = threading.Event()
    t = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    t.start()
    consumer.connected.wait(30)
    time.sleep(0.5)
    total = len(codes) * per_machine
    simulate(codes, per_machine, 0, prefix, env).communicate(timeout=1200)
    end = time.monotonic() + 120
    while consumer.received < total and time.monotonic() < end:
        time.sleep(0.05)
    start = time.monotonic()
    gate.set()
    while done[0] < total and time.monotonic() < end + 300:
        time.sleep(0.02)
    took = time.monotonic() - start
    stop.set()
    t.join(60)
    return {"messages": done[0], "received_before_release": consumer.received, "seconds": took, "msg_per_s": done[0] / took}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default="")
    ap.add_argument("--machines", type=int, default=50)
    ap.add_argument("--messages", type=int, default=30_000, help="messages in the full-speed runs (all machines)")
    ap.add_argument("--rate", type=float, default=5000.0, help="the fixed-rate run's messages a second")
    ap.add_argument("--seconds", type=float, default=20.0, help="the fixed-rate run's length")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="devices-bench-")
    url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
    prefix = f"bench/{uuid.uuid4().hex[:8]}"
    engine = setup(url, args.machines, prefix)
    settings = Settings(database_url=url, mqtt_flush_messages=5000)
    codes = simulator.codes(args.machines, "BENCH")
    env = {**os.environ, "MOM_DATABASE_URL": url, "MOM_DATA_DIR": tmp}
    per = max(1, args.messages // args.machines)
    raw = baseline(settings, codes, per, f"{prefix}-raw", env)
    fast = platform(engine, settings, codes, per, 0, prefix, env)
    held = drain(engine, settings, codes, per, prefix, env)
    per_fixed = max(1, int(args.rate * args.seconds) // args.machines)
    fixed = platform(engine, settings, codes, per_fixed, args.rate, prefix, env)
    print(json.dumps({"database": engine.dialect.name, "machines": args.machines, "baseline_raw_paho_msg_per_s": round(raw),
                      "platform_full_speed": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in fast.items()},
                      "ratio_platform_to_raw": round(fast["msg_per_s"] / raw, 3),
                      "platform_drain": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in held.items()},
                      "ratio_drain_to_raw": round(held["msg_per_s"] / raw, 3),
                      "platform_fixed_rate": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in fixed.items()}},
                     indent=1))


if __name__ == "__main__":
    main()
