"""The device simulator (`mom devices simulate`): N machines publishing plain-JSON messages at a rate, for
demos, tests and the benchmark. It keeps its own totals, so what the platform counted can be compared.

Topic ``<prefix>/<machine code>/data`` (default prefix ``mom/sim``), QoS 1; payload::

    {"seq": 17, "ts": 1733300000123, "state": "running", "total": 412, "good": 405, "scrap": 7,
     "temp": 61.8, "current": 12.4}

With ``drift_after`` N, each machine's temperature starts drifting upward after its N-th message (its mean
rises 0.05 ℃ a message up to +20 ℃: an EWMA / CUSUM condition rule catches it long before the 90 ℃ limit);
with ``waveform_every`` N, every N-th message also carries a vibration waveform (``"vib"``: 1,024 velocity
samples in mm/s at ``"fs"`` 2,560 Hz — running speed 25 Hz plus a bearing tone at 160 Hz that grows with the
drift), for the mapping's vibration features.

``seq`` counts 1, 2, 3 … per machine and run; ``ts`` is epoch milliseconds; ``total`` / ``good`` / ``scrap``
are cumulative counters starting at 0 (the first message is the base), so a machine's produced parts are its
last ``total``. :data:`MAPPING` is the matching ``device_mapping`` (`mom devices simulate --setup` saves it).
"""
from __future__ import annotations

import dataclasses
import math
import random
import threading
import time
from typing import Any

import orjson
import paho.mqtt.client as mqtt

from mom.connectors.mqtt.client import connect, make_client
from mom.platform.settings import Settings

STATES = ("running", "running", "running", "running", "idle", "down", "setup", "planned_stop")

#: the device mapping the simulator's messages need (``--setup`` saves it; the docs show it)
MAPPING: dict[str, Any] = {
    "code": "SIM", "name": "设备模拟器 / simulator", "topic_pattern": "mom/sim/+/data", "format": "json",
    "machine_expr": "segments[2]", "state_expr": 'payload["state"]', "total_expr": 'payload["total"]',
    "good_expr": 'payload["good"]', "scrap_expr": 'payload["scrap"]', "timestamp_expr": 'payload["ts"]',
    "message_id_expr": 'payload["seq"]',
    "waveform_expr": 'payload["vib"]', "sample_rate_expr": 'payload["fs"]', "waveform_tag": "vib", "waveform_unit": "mm/s",
    "bands": "10-100,100-1000", "iso_class": "II", "waveform_alarm": "notify",
    "tags": [{"tag": "temp", "expression": 'payload["temp"]', "unit": "℃", "high_limit": 90, "deadband": 5,
              "on_alarm": "notify"},
             {"tag": "current", "expression": 'payload["current"]', "unit": "A", "on_alarm": "none"}]}


@dataclasses.dataclass
class SimMachine:
    code: str
    seq: int = 0
    state: str = "running"
    total: int = 0
    good: int = 0
    scrap: int = 0
    temp: float = 60.0
    state_changes: int = 0
    base: float = 60.0

    def step(self, rng: random.Random, spike: bool, drift: bool = False, wave: bool = False) -> dict[str, Any]:
        self.seq += 1
        if self.seq > 1:
            if rng.random() < 0.02:
                new = rng.choice(STATES)
                if new != self.state:
                    self.state, self.state_changes = new, self.state_changes + 1
            if self.state == "running":
                made = rng.randint(0, 3)
                bad = sum(1 for _ in range(made) if rng.random() < 0.03)
                self.total, self.good, self.scrap = self.total + made, self.good + made - bad, self.scrap + bad
            if drift:
                self.base = min(self.base + 0.05, 80.0)
            self.temp = min(120.0, max(20.0, self.temp + rng.uniform(-1, 1) + (35 if spike else 0) - (self.temp - self.base) * 0.05))
        doc = {"seq": self.seq, "ts": int(time.time() * 1000), "state": self.state, "total": self.total, "good": self.good,
               "scrap": self.scrap, "temp": round(self.temp, 2), "current": round(10 + rng.random() * 5, 2)}
        if wave:
            doc.update(vib=waveform(rng, wear=(self.base - 60.0) / 20.0), fs=WAVE_RATE)
        return doc


WAVE_RATE, WAVE_SAMPLES = 2560, 1024


def waveform(rng: random.Random, wear: float) -> list[float]:
    """Velocity samples (mm/s): 1.2 mm/s RMS at running speed (25 Hz), a bearing tone at 160 Hz growing with
    ``wear`` (0 new … 1 worn: up to 6 mm/s RMS, ISO 10816 class II zone C) and a little noise."""
    a1, a2 = 1.2 * math.sqrt(2), max(0.0, wear) * 6.0 * math.sqrt(2)
    return [round(a1 * math.sin(2 * math.pi * 25 * i / WAVE_RATE) + a2 * math.sin(2 * math.pi * 160 * i / WAVE_RATE)
                  + rng.gauss(0, 0.05), 4) for i in range(WAVE_SAMPLES)]


@dataclasses.dataclass
class SimResult:
    machines: dict[str, dict[str, int]]
    published: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"machines": self.machines, "published": self.published, "seconds": round(self.seconds, 3),
                "rate": round(self.published / self.seconds, 1) if self.seconds else None}


def codes(count: int, prefix: str = "SIM") -> list[str]:
    return [f"{prefix}-{i:03d}" for i in range(1, count + 1)]


def run(settings: Settings, machine_codes: list[str], *, messages: int, rate: float, prefix: str = "mom/sim",
        seed: int | None = None, spike_every: int = 0, client_id: str | None = None,
        stop: threading.Event | None = None, drift_after: int = 0, waveform_every: int = 0) -> SimResult:
    """Publish ``messages`` per machine, ``rate`` messages a second in all (0: as fast as the broker takes them);
    every ``spike_every``-th message of a machine has a temperature spike (0: none); the temperature drifts after
    message ``drift_after`` (0: never); every ``waveform_every``-th message carries a waveform (0: none).
    Waits for every PUBACK."""
    rng = random.Random(seed)
    sims = [SimMachine(c) for c in machine_codes]
    client = make_client(settings, client_id or f"mom-sim-{int(time.time() * 1000) % 10**9}")
    client.max_inflight_messages_set(1000)
    connect(client, settings, persistent=False)
    client.loop_start()
    infos: list[mqtt.MQTTMessageInfo] = []
    start = time.monotonic()
    sent = 0
    try:
        for i in range(messages):
            for m in sims:
                if stop is not None and stop.is_set():
                    break
                doc = m.step(rng, spike=bool(spike_every) and (i + 1) % spike_every == 0,
                             drift=bool(drift_after) and i + 1 > drift_after,
                             wave=bool(waveform_every) and (i + 1) % waveform_every == 0)
                infos.append(client.publish(f"{prefix}/{m.code}/data", orjson.dumps(doc), qos=1))
                sent += 1
                if rate > 0:
                    ahead = sent / rate - (time.monotonic() - start)
                    if ahead > 0:
                        time.sleep(ahead)
                if len(infos) > 5000:
                    for info in infos:
                        info.wait_for_publish(60)
                    infos.clear()
        for info in infos:
            info.wait_for_publish(60)
    finally:
        client.disconnect()
        client.loop_stop()
    took = time.monotonic() - start
    return SimResult({m.code: {"messages": m.seq, "total": m.total, "good": m.good, "scrap": m.scrap,
                               "state": m.state, "state_changes": m.state_changes} for m in sims}, sent, took)
