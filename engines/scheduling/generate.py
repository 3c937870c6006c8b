"""A generated factory problem for benchmarks and tests (deterministic per seed).

Eight process stages with 2–4 alternative machines each (their own speeds), changeovers by colour
(light→dark cheap, dark→light costly) and by material family, two shifts a day with breaks,
Sundays off, staggered releases, material arrivals and due dates with weights (priorities).

``downtime=True`` adds planned maintenance (half a shift per machine on some day) and a few breakdowns;
``non_pausable`` is the share of the short operations (paint, weld, test) that may not stop over a break.
Both draw from their own random stream, so the default problem is the same with or without them.
"""
from __future__ import annotations

import random
from typing import Any

STAGES = ["cut", "form", "machine", "weld", "paint", "assemble", "test", "pack"]
COLOURS = ["light", "medium", "dark"]
FAMILIES = ["steel", "brass", "plastic"]


NON_PAUSABLE_STAGES = ("weld", "paint", "test")
NON_PAUSABLE_MAX = 180       # minutes: a non-pausable operation fits the shortest shift (18:30–22:00)


def factory(*, orders: int = 300, machines: int = 25, seed: int = 1, days: int = 12, downtime: bool = False,
            non_pausable: float = 0.0) -> dict[str, Any]:
    """The problem document; ``downtime`` and ``non_pausable`` as in the module's docstring."""
    rnd = random.Random(seed)
    extra = random.Random(f"downtime-{seed}")
    per_stage = [machines // len(STAGES)] * len(STAGES)
    for k in range(machines - sum(per_stage)):
        per_stage[k % len(STAGES)] += 1
    resources, by_stage = [], {}
    for s, stage in enumerate(STAGES):
        ids = []
        for k in range(per_stage[s]):
            rid = f"{stage.upper()}-{k + 1}"
            r: dict[str, Any] = {"id": rid, "name": {"zh-CN": f"{stage}{k + 1}号机", "en": f"{stage} {k + 1}"},
                                 "kind": "machine", "calendar": "two_shifts"}
            if stage in ("paint", "form"):
                r["setups"] = ["colour"]
            elif stage in ("machine", "cut"):
                r["setups"] = ["family"]
            else:
                r["setups"] = []
            resources.append(r)
            ids.append((rid, round(rnd.uniform(0.8, 1.3), 2)))
        by_stage[stage] = ids
    out_orders = []
    horizon_work = days * 15 * 60
    for n in range(orders):
        qty = rnd.choice([50, 100, 200, 300, 500])
        route = sorted(rnd.sample(range(len(STAGES)), rnd.randint(4, 8)))
        colour, family = rnd.choice(COLOURS), rnd.choice(FAMILIES)
        release = rnd.randint(0, 4) * 1440
        ops, work = [], 0
        for k, s in enumerate(route):
            stage = STAGES[s]
            unit = rnd.uniform(0.1, 0.6)
            base = 15 + unit * qty
            cands = rnd.sample(by_stage[stage], min(len(by_stage[stage]), rnd.randint(1, 3)))
            modes = [{"resource": rid, "duration": max(5, int(base * speed))} for rid, speed in cands]
            work += min(m["duration"] for m in modes)
            op: dict[str, Any] = {"id": f"{(k + 1) * 10}", "name": stage, "modes": modes,
                                  "attributes": {"colour": colour, "family": family}}
            if k == 0 and rnd.random() < 0.15:
                op["materials"] = [{"item": f"{family}-stock", "available": release + rnd.randint(1, 3) * 1440}]
            if stage == "paint":
                op["min_wait"] = 60          # drying before the next step
            if k > 0 and qty >= 300 and rnd.random() < 0.3:
                op["transfer_batch"] = qty // 5
            if stage in NON_PAUSABLE_STAGES and max(m["duration"] for m in modes) <= NON_PAUSABLE_MAX and \
                    extra.random() < non_pausable:
                op["pausable"] = False
            ops.append(op)
        slack = rnd.uniform(1.3, 3.5)
        due = release + int(work * slack * 24 / 15) + rnd.randint(0, 2) * 1440
        out_orders.append({"id": f"SO{n + 1:04d}", "quantity": qty, "release": release,
                           "due": min(due, release + horizon_work * 2), "weight": rnd.choice([1, 1, 1, 2, 3]),
                           "operations": ops})
    if downtime:
        _add_downtime(resources, extra, days)
    return {
        "format": "mom.schedule-problem/1",
        "name": f"factory-{orders}x{machines}-seed{seed}" + ("-downtime" if downtime else ""),
        "origin": "2026-11-23T00:00:00+08:00",
        "calendars": {"two_shifts": {"name": {"zh-CN": "两班制", "en": "two shifts"},
                                     "shifts": [["06:00", "10:00"], ["10:30", "14:00"], ["14:00", "18:00"],
                                                ["18:30", "22:00"]],
                                     "workdays": [1, 2, 3, 4, 5, 6]}},
        "setup_matrices": {
            "colour": {"default": 20, "same": 0, "rules": [{"from": "light", "to": "medium", "time": 10},
                                                           {"from": "light", "to": "dark", "time": 15},
                                                           {"from": "medium", "to": "dark", "time": 10},
                                                           {"from": "dark", "to": "light", "time": 60},
                                                           {"from": "medium", "to": "light", "time": 40},
                                                           {"from": "dark", "to": "medium", "time": 40}]},
            "family": {"default": 45, "same": 0}},
        "resources": resources,
        "orders": out_orders,
        "objective": {"terms": ["weighted_tardiness", "setup_time"]},
    }


def _add_downtime(resources: list[dict[str, Any]], rnd: random.Random, days: int) -> None:
    """Planned maintenance on every machine (08:00–12:00 of a weekday in the first week), and a
    breakdown of 2–8 hours on about one machine in four, somewhere in the first ``days`` days."""
    for r in resources:
        day = rnd.randint(0, 5)
        holes = [[day * 1440 + 480, day * 1440 + 720]]
        if rnd.random() < 0.25:
            at = rnd.randint(0, days * 1440 - 480)
            holes.append([at, at + rnd.randint(2, 8) * 60])
        r["downtime"] = holes
