"""Inspection results through the API with the SPC charts current (issue 22: "1,000 inspection results per
minute through the API with charts current").

Set-up, not measured: a fresh database (SQLite file or a PostgreSQL schema), ``core`` and ``quality``
installed as ``mom pack install`` does, an inspector (qc_inspector) and an administrator with API tokens,
an IQC plan whose characteristic 内径 (piston-ring bore, 74.000 ± 0.05 mm) is charted X̄-R with n = 5
(``fixed_sample_size``) beside an attribute characteristic 外观, and ``--history`` judged lots so every
judge evaluates a full chart window (the alarm check starts at 20 subgroups).

Measured, per inspection lot, as the inspector's phone does it (in-process TestClient, one client):
``POST /api/records/inspection_lot`` (open it), ``PUT /api/quality/inspections/{id}/results`` (5 readings
+ 5 外观 cells), ``POST /api/quality/inspections/{id}/judge`` (the engine judges, the SPC feed evaluates
the chart and raises an alarm when a rule breaks), then ``GET /api/quality/spc/chart`` — and the chart
must already end with that lot (asserted). Baseline in the same run, interleaved rounds: a plain record
create ``POST /api/records/defect_code`` (4 short fields) by the administrator. One lot in 25 is shifted
by +0.04 mm so the alarm path (alarm record, notifications) is part of the mix.

    python bench/quality_results_bench.py [--db sqlite|postgresql|both] [--lots 40] [--rounds 4] [--history 30]

Results per minute = 10 cells × lots per minute (5 numeric readings + 5 attribute cells per lot).
PostgreSQL: ``MOM_BENCH_PG`` (default postgresql+psycopg://postgres@127.0.0.1:5432/test), one schema
dropped at the end.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
import forms_bench as fb  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TAG = f"q{os.getpid()}"


def setup(url: str, pack: str) -> tuple[dict[str, str], dict[str, str], int]:
    """Core (with its demo plant: items) and quality installed, and the people; returns (inspector headers,
    admin headers, the first item)."""
    from mom.engines.forms.fieldtypes import plant_tz
    from mom.engines.packs import manager
    from mom.platform.auth import service as auth
    from mom.platform.composition import form_registry
    from mom.platform.db.engine import make_engine, write_tx
    from mom.platform.db.migrate import upgrade
    from mom.platform.settings import Settings

    eng = make_engine(url)
    upgrade(eng)
    tz = plant_tz(Settings(database_url="sqlite://").timezone)
    manager.execute(eng, None, "install", str(ROOT / "modelpacks" / "core"), forms_factory=form_registry, tz=tz,
                    demo=True)
    manager.execute(eng, None, "install", pack, forms_factory=form_registry, tz=tz)
    with write_tx(eng) as conn:
        heads = []
        for name, admin, roles in (("insp", False, ["qc_inspector"]), ("bench", True, [])):
            uid = auth.create_user(conn, username=name, password=f"{name}-pass-1", is_admin=admin, roles=roles)
            heads.append({"Authorization": f"Bearer {auth.issue_token(conn, uid, kind='api', name='bench')['access_token']}"})
        item = conn.execute(sa.text("SELECT id FROM item ORDER BY id LIMIT 1")).scalar_one()
    eng.dispose()
    return heads[0], heads[1], int(item)


def _readings(rnd: random.Random, i: int) -> list[float]:
    shift = 0.04 if i % 25 == 24 else 0.0
    return [round(rnd.gauss(74.0 + shift, 0.01), 3) for _ in range(5)]


def _ok(r: Any, want: int = 200) -> Any:
    assert r.status_code == want, r.text
    return r.json()


def inspect(client: Any, h: dict[str, str], plan: int, item: int, readings: list[float], timer: dict[str, float]) -> None:
    """One lot: open, enter, judge, read the chart (which must end with this lot)."""
    t = time.perf_counter()
    lot = _ok(client.post("/api/records/inspection_lot", json={"plan": plan, "item": item, "inspection_type": "iqc",
                                                                "lot_qty": 800, "supplier": "活塞环厂"}, headers=h), 201)
    t1 = time.perf_counter()
    cells = [{"sample_no": i + 1, "char_seq": 1, "value": v} for i, v in enumerate(readings)]
    cells += [{"sample_no": i + 1, "char_seq": 2, "ok": True} for i in range(len(readings))]
    _ok(client.put(f"/api/quality/inspections/{lot['id']}/results", json={"cells": cells}, headers=h))
    t2 = time.perf_counter()
    _ok(client.post(f"/api/quality/inspections/{lot['id']}/judge", json={}, headers=h))
    t3 = time.perf_counter()
    chart = _ok(client.get(f"/api/quality/spc/chart?plan={plan}&char_seq=1", headers=h))
    t4 = time.perf_counter()
    assert chart["subgroups"][-1]["inspection_lot"] == lot["id"], "the chart does not end with the lot just judged"
    for k, a, b in (("open", t, t1), ("results", t1, t2), ("judge", t2, t3), ("chart", t3, t4)):
        timer[k] = timer.get(k, 0.0) + (b - a)


class FeedTimer:
    """Time spent in the SPC feed (``spc_feed.on_judged``, inside the judge's transaction), to tell its share
    of the judge from the rest (the quality pack's judging, switching, stock release)."""

    def __init__(self) -> None:
        from mom.engines.quality import spc_hooks

        self.spent, self.calls, self.hooks = 0.0, 0, spc_hooks
        self.orig = spc_hooks.spc_feed.on_judged

        def timed(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return self.orig(*a, **k)
            finally:
                self.spent += time.perf_counter() - t
                self.calls += 1
        spc_hooks.spc_feed.on_judged = timed

    def reset(self) -> None:
        self.spent, self.calls = 0.0, 0

    def ms(self) -> float:
        return self.spent / max(1, self.calls) * 1000


def run(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from mom.platform.api.app import create_app
    from mom.platform.settings import Settings

    tmp = Path(tempfile.mkdtemp())
    url = fb.db_url(kind, tmp, f"qres_{TAG}")
    insp, admin, item = setup(url, args.pack)
    rnd = random.Random(22)
    app = create_app(Settings(data_dir=tmp / "data", database_url=url), migrate=False)
    with TestClient(app) as client:
        plan = _ok(client.post("/api/records/inspection_plan", headers=admin, json={
            "name": "活塞环来料检验", "inspection_type": "iqc", "item": item, "fixed_sample_size": 5, "characteristics": [
                {"seq_no": 1, "name": "内径", "kind": "numeric", "defect_class": "major", "nominal": 74.0, "lsl": 73.95,
                 "usl": 74.05, "unit": "mm", "spc": True, "chart": "xbar_r"},
                {"seq_no": 2, "name": "外观", "kind": "attribute", "defect_class": "minor"}]}), 201)["id"]
        warm: dict[str, float] = {}
        for i in range(args.history):
            inspect(client, insp, plan, item, _readings(rnd, i), warm)
        feed = FeedTimer()
        lots, creates, steps = [], [], {}
        n = args.history
        for r in range(args.rounds):
            order = ("lots", "creates") if r % 2 == 0 else ("creates", "lots")
            for side in order:
                t = time.perf_counter()
                if side == "lots":
                    for _ in range(args.lots):
                        inspect(client, insp, plan, item, _readings(rnd, n), steps)
                        n += 1
                    lots.append((time.perf_counter() - t) / args.lots)
                else:
                    for j in range(args.lots):
                        _ok(client.post("/api/records/defect_code", headers=admin, json={
                            "code": f"B{r}-{j}-{TAG}", "name": "基准缺陷", "defect_class": "minor", "category": "bench"}), 201)
                    creates.append((time.perf_counter() - t) / args.lots)
            print(f"  {kind} round {r + 1}: lot {lots[-1] * 1000:.1f} ms, create {creates[-1] * 1000:.1f} ms", file=sys.stderr)
        alarms = _ok(client.get(f"/api/quality/spc/chart?plan={plan}&char_seq=1&limit=10000", headers=admin))["alarms"]
    lot_s, create_s = statistics.median(lots), statistics.median(creates)
    total = args.lots * args.rounds
    feed.hooks.spc_feed.on_judged = feed.orig
    return {"db": kind, "feed_ms": feed.ms(), "lot_ms": lot_s * 1000, "create_ms": create_s * 1000, "ratio": lot_s / create_s,
            "lots_per_min": 60 / lot_s, "results_per_min": 600 / lot_s, "alarms": len(alarms), "lots": n,
            "steps_ms": {k: v / total * 1000 for k, v in steps.items()}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    ap.add_argument("--lots", type=int, default=40, help="inspection lots per round (and as many plain creates)")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--history", type=int, default=30, help="lots judged before measuring (a full chart window)")
    ap.add_argument("--pack", default=str(ROOT / "modelpacks" / "quality"), help="the quality pack folder")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} CPUs")
    for kind in (("sqlite", "postgresql") if args.db == "both" else (args.db,)):
        res = run(kind, args)
        steps = ", ".join(f"{k} {v:.1f}" for k, v in res["steps_ms"].items())
        print(f"{kind}: {res['lot_ms']:.1f} ms per inspection lot ({steps} ms) = {res['lots_per_min']:.0f} lots/min = "
              f"{res['results_per_min']:,.0f} results/min (target 1,000); SPC feed {res['feed_ms']:.1f} ms of the judge; "
              f"plain create {res['create_ms']:.1f} ms; "
              f"ratio {res['ratio']:.1f}×; {res['alarms']} alarms over {res['lots']} lots")


if __name__ == "__main__":
    main()
