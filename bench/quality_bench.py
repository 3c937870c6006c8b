"""Quality benchmarks (issue 22). ``sampling``: what a lot costs the sampling engine — find the plan
(GB/T 2828.1 Table 1 + 2-A/B/C, arrows followed), judge the lot, ask the one-step-tighter question and
update the switching state read from / written back to JSON (as the quality pack stores it in a
form field) — against a baseline measured in the same run: the JSON round trip of the state alone.
Then the API round trip GET /api/quality/sampling-plan against GET /api/health (in-process client,
SQLite), interleaved rounds. Prints per-lot / per-request times, ratios, CPU time and load average.

    python bench/quality_bench.py sampling [--lots 20000] [--requests 500]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

LOT_SIZES = (8, 50, 125, 500, 1200, 3200, 10000, 35000, 150000, 600000)
AQLS = ("0.065", "0.25", "0.65", "1.0", "1.5", "2.5", "4.0", "6.5")
LEVELS = ("S-3", "I", "II", "III")


def _lots(n: int) -> list[tuple[int, str, str, float]]:
    rnd = random.Random(22)
    return [(rnd.choice(LOT_SIZES), rnd.choice(AQLS), rnd.choice(LEVELS), rnd.random()) for _ in range(n)]


def _engine_round(lots: list[tuple[int, str, str, float]]) -> tuple[float, float]:
    """Seconds (wall, CPU) for the full per-lot work over ``lots``."""
    from mom.engines.quality.sampling import accepted_at_tighter_aql, lot_result, plan
    from mom.engines.quality.switching import State, next_state, resume

    stored = json.dumps(State().to_dict())
    wall, cpu = time.perf_counter(), time.process_time()
    for lot_size, aql, level, luck in lots:
        state = State.from_dict(json.loads(stored))
        if state.discontinued:
            state, _ = resume(state)
        p = plan(lot_size, aql, level, state.severity)
        defects = min(p.sample_size, p.ac + (1 if luck < 0.15 else 0))
        accepted = lot_result(defects, p)
        tighter = accepted_at_tighter_aql(defects, p) if state.severity == "normal" and p.ac >= 2 else None
        state, _ = next_state(state, accepted, p, would_accept_tighter=tighter)
        stored = json.dumps(state.to_dict())
    return time.perf_counter() - wall, time.process_time() - cpu


def _baseline_round(lots: list[tuple[int, str, str, float]]) -> tuple[float, float]:
    """The JSON round trip of the stored state alone, once per lot."""
    from mom.engines.quality.switching import State

    stored = json.dumps(State().to_dict())
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in lots:
        stored = json.dumps(json.loads(stored))
    return time.perf_counter() - wall, time.process_time() - cpu


def _api(requests: int, rounds: int = 4) -> dict[str, float]:
    from fastapi.testclient import TestClient

    import forms_bench as fb
    from mom.platform.api.app import create_app
    from mom.platform.settings import Settings

    tmp = Path(tempfile.mkdtemp())
    url = fb.db_url("sqlite", tmp, "quality")
    token = fb.setup_platform(url, tmp / "data")
    app = create_app(Settings(data_dir=tmp / "data", database_url=url), migrate=False)
    headers = {"Authorization": f"Bearer {token}"}
    lots = _lots(requests)
    took = {"plan": 0.0, "health": 0.0}
    with TestClient(app) as client:
        client.get("/api/health")
        for _ in range(rounds):
            t = time.perf_counter()
            for lot_size, aql, level, _luck in lots:
                r = client.get("/api/quality/sampling-plan", headers=headers,
                               params={"lot_size": lot_size, "aql": aql, "level": level})
                assert r.status_code == 200, r.text
            took["plan"] += time.perf_counter() - t
            t = time.perf_counter()
            for _ in lots:
                assert client.get("/api/health").status_code == 200
            took["health"] += time.perf_counter() - t
    n = requests * rounds
    return {k: v / n * 1000 for k, v in took.items()}


def sampling(args: argparse.Namespace) -> None:
    lots = _lots(args.lots)
    _engine_round(lots[:200])                      # warm the table caches and imports
    eng, base = [0.0, 0.0], [0.0, 0.0]
    for _ in range(5):                             # interleaved rounds
        w, c = _engine_round(lots)
        eng[0], eng[1] = eng[0] + w, eng[1] + c
        w, c = _baseline_round(lots)
        base[0], base[1] = base[0] + w, base[1] + c
    n = 5 * len(lots)
    per_lot, per_base = eng[0] / n * 1e6, base[0] / n * 1e6
    print(f"load average {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} CPUs")
    print(f"sampling per lot (plan + judge + tighter + switching + state JSON): {per_lot:.1f} µs wall, "
          f"{eng[1] / n * 1e6:.1f} µs CPU; budget 5 ms")
    print(f"baseline (state JSON round trip only): {per_base:.1f} µs wall; ratio {per_lot / per_base:.1f}×")
    api = _api(args.requests)
    print(f"API GET /api/quality/sampling-plan: {api['plan']:.2f} ms per request; "
          f"GET /api/health: {api['health']:.2f} ms; ratio {api['plan'] / api['health']:.2f}×")


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    s = sub.add_parser("sampling")
    s.add_argument("--lots", type=int, default=20000)
    s.add_argument("--requests", type=int, default=500)
    args = ap.parse_args()
    {"sampling": sampling}[args.what](args)


if __name__ == "__main__":
    main()
