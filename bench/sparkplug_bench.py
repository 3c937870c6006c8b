"""What decoding Sparkplug B costs the device consumer (issue 23), against the JSON it decodes otherwise.

Each message is one machine's DDATA with three metrics by alias (state text, cumulative counter UInt32,
spindle temperature Float) — what `mom devices simulate` sends as JSON. Interleaved rounds time
``SparkplugDecoder.feed`` (topic parsed, protobuf parsed, aliases resolved, seq checked, datatypes
converted, message key built) against ``orjson.loads`` of the same content as JSON (the consumer's path for a
plain-JSON topic), in one process; the ratio is the price of Sparkplug per message.

    python bench/sparkplug_bench.py [--n 50000] [--rounds 5]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import orjson

from mom.connectors.mqtt.sparkplug import SparkplugDecoder, encode_payload
from mom.connectors.mqtt.sparkplug_payload import DataType

ALIASES = {"State": 1, "Count/Total": 2, "Spindle/Temp": 3}
TYPES = {"Count/Total": DataType.UInt32, "Spindle/Temp": DataType.Float}
NODE, DEVICE = "spBv1.0/plant1/{}/edge1", "spBv1.0/plant1/{}/edge1/CNC-1"


def messages(n: int) -> tuple[list[bytes], list[bytes]]:
    spb, js = [], []
    for i in range(n):
        metrics = {"State": "running" if i % 50 else "idle", "Count/Total": 1000 + i, "Spindle/Temp": 20.5 + i % 7}
        ts = 1_764_000_000_000 + 200 * i
        spb.append(encode_payload(metrics, seq=(i + 2) % 256, timestamp_ms=ts, aliases=ALIASES, types=TYPES))
        js.append(orjson.dumps({"timestamp_ms": ts, "seq": i, **metrics}))
    return spb, js


def born() -> SparkplugDecoder:
    d = SparkplugDecoder()
    d.feed(NODE.format("NBIRTH"), encode_payload({"bdSeq": 0}, seq=0, timestamp_ms=1, birth=True, aliases={"bdSeq": 9}))
    d.feed(DEVICE.format("DBIRTH"), encode_payload({"State": "idle", "Count/Total": 1000, "Spindle/Temp": 20.0}, seq=1,
                                                   timestamp_ms=1, birth=True, aliases=ALIASES, types=TYPES))
    return d


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    spb, js = messages(args.n)
    topic = DEVICE.format("DDATA")
    sp_rates, js_rates = [], []
    for _ in range(args.rounds):
        d = born()
        t = time.perf_counter()
        for raw in spb:
            d.feed(topic, raw)
        sp_rates.append(args.n / (time.perf_counter() - t))
        assert not d.reports, d.reports
        t = time.perf_counter()
        for raw in js:
            orjson.loads(raw)
        js_rates.append(args.n / (time.perf_counter() - t))
    sp, jr = statistics.median(sp_rates), statistics.median(js_rates)
    print(json.dumps({"messages": args.n, "rounds": args.rounds, "sparkplug_msgs_per_s": round(sp),
                      "json_msgs_per_s": round(jr), "json_over_sparkplug": round(jr / sp, 1),
                      "sparkplug_us_per_msg": round(1e6 / sp, 1)}))


if __name__ == "__main__":
    main()
