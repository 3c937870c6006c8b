"""Traceability benchmark (issue 21, item 9): forward and backward traces on a generated genealogy.

A genealogy of ``--edges`` edges (default 10M) is written straight into the core pack's ``lot_link``
and ``lot`` tables with bulk inserts (``platform/db/bulk.insert_many``: COPY on PostgreSQL, executemany
on SQLite). It is shaped like a plant: families (a product line over a period) of up to 11 levels
(raw lots → parts → sub-assemblies → … → finished serials; a family's depth is 3–10 links), each lot of
a level made from 5–30 lots of the level below (assemblies of 5–30 components), and raw lots of one
family also feeding the next family's first level (a raw lot feeding many orders).

Measured, interleaved per start lot, over ``--samples`` random start lots each way (forward from lots of
the lower levels, backward from lots of the upper levels): the engine's trace query
(``mom.engines.trace.walk.run``: ONE recursive query returning the edges walked with the far lots' number,
item, heat number, supplier …) against a hand-written recursive SQL of the same trace returning the same
rows. Targets: p95 <= 100 ms and engine p95 <= 1.2 x the hand-written p95. Also: the full API answer
(``service.forward/backward``: shipments, orders, records referencing the lots) and the load average.

    python bench/trace_bench.py [--db sqlite|postgresql|both] [--edges 10000000] [--samples 200]

PostgreSQL: ``MOM_BENCH_PG`` (default postgresql+psycopg://postgres@127.0.0.1:5432/test), a schema made by
``forms_bench.db_url`` and dropped at the end (``--keep`` keeps it).
"""
from __future__ import annotations

import argparse
import datetime as dt
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

CORE = Path(__file__).resolve().parents[1] / "modelpacks" / "core"
TAG = f"trace{os.getpid()}"
SIZES = (40, 30, 25, 20, 16, 12, 10, 8, 6, 4, 2)    # lots per level of a family (level 0: raw lots)
CHUNK = 200_000

HAND = """
WITH RECURSIVE walk(lot, level) AS (
  SELECT CAST(:start AS BIGINT), 0
  UNION
  SELECT l.{far}, w.level + 1 FROM walk w JOIN lot_link l ON l.{near} = w.lot
  WHERE w.level < :depth AND l.retracts IS NULL AND l.deleted_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM lot_link r WHERE r.retracts = l.id AND r.child_lot = l.child_lot AND r.deleted_at IS NULL)
), reached AS (SELECT lot, MIN(level) AS level FROM walk GROUP BY lot)
SELECT l.id, l.parent_lot, l.child_lot, l.qty, l.relation, l.production_order, l.task, l.machine, l.operator,
       l.document_form, l.document_id, l.document_code, l.linked_at, d.level, t.number, t.item, t.is_serial,
       t.heat_number, t.supplier_lot, t.supplier, t.status, i.code, i.name
FROM reached s JOIN lot_link l ON l.{near} = s.lot JOIN reached d ON d.lot = l.{far}
JOIN lot t ON t.id = l.{far} LEFT JOIN item i ON i.id = t.item
WHERE s.level < :depth AND l.retracts IS NULL AND l.deleted_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM lot_link r WHERE r.retracts = l.id AND r.child_lot = l.child_lot AND r.deleted_at IS NULL)
ORDER BY d.level, l.id
"""


def plant(kind: str, tmp: Path) -> Any:
    from mom.engines.packs import manager
    from mom.platform.composition import form_registry
    from mom.platform.db.engine import make_engine
    from mom.platform.db.migrate import upgrade

    eng = make_engine(fb.db_url(kind, tmp, TAG))
    upgrade(eng)
    manager.execute(eng, None, "install", str(CORE), forms_factory=form_registry)
    return eng


def generate(eng: Any, edges: int, seed: int = 21) -> dict[str, Any]:
    """Write the genealogy; returns the lot ids per level and the figures."""
    from mom.engines.records import service as S
    from mom.engines.records.context import Ctx
    from mom.platform.composition import form_registry
    from mom.platform.db.bulk import insert_many
    from mom.platform.db.engine import write_tx

    rnd = random.Random(seed)
    forms = form_registry()
    with write_tx(eng) as conn:
        items = [m["id"] for m in S.create_records(conn=conn, registry=forms, ctx=Ctx.system(), form="item", docs=[
            {"code": f"TB-L{k}", "name": f"追溯物料 第{k}层", "unit": "件", "tracking": "lot"} for k in range(len(SIZES))])]
        lot_f, link_f = forms.get(conn, "lot"), forms.get(conn, "lot_link")
    now = dt.datetime.now(dt.timezone.utc)
    sys_cols = {"created_at": now, "updated_at": now, "row_version": 1}
    levels: list[list[int]] = [[] for _ in SIZES]
    next_lot, next_edge, made, fam = 1, 1, 0, 0
    prev_raw: list[int] = []
    t0, c0 = time.perf_counter(), time.process_time()
    pg = eng.dialect.name == "postgresql"
    while made < edges:
        lots: list[dict[str, Any]] = []
        links: list[dict[str, Any]] = []
        while made + len(links) < edges and len(links) < CHUNK:
            depth = rnd.randint(3, len(SIZES) - 1)
            fam_levels: list[list[int]] = []
            for k in range(depth + 1):
                ids = list(range(next_lot, next_lot + SIZES[k]))
                next_lot += SIZES[k]
                fam_levels.append(ids)
                levels[k] += ids
                for i in ids:
                    lots.append({"id": i, "number": f"F{fam}-L{k}-{i}", "item": items[k], "status": "released", "is_serial": k == depth,
                                 "heat_number": f"H{fam // 10}-{i % 7}" if k == 0 else None, "supplier": "鞍钢" if k == 0 else None})
            for k in range(1, depth + 1):
                below = fam_levels[k - 1]
                for child in fam_levels[k]:
                    parents = rnd.sample(below, min(rnd.randint(5, 30), len(below)))
                    if k == 1 and prev_raw and rnd.random() < 0.2:
                        parents += rnd.sample(prev_raw, 3)
                    for parent in parents:
                        links.append({"id": next_edge, "parent_lot": parent, "child_lot": child, "qty": 1, "relation": "consume",
                                      "document_form": "production_receipt", "document_code": f"PR-{fam}", "linked_at": now})
                        next_edge += 1
            prev_raw = fam_levels[0]
            fam += 1
        with write_tx(eng) as conn:
            if pg:      # the rows are consistent by construction: no per-row foreign-key trigger while loading
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            insert_many(conn, lot_f.main, lots, const={**sys_cols, "form_version": lot_f.version})
            insert_many(conn, link_f.main, links, const={**sys_cols, "form_version": link_f.version})
        made += len(links)
        print(f"  … {made:,} edges, {next_lot - 1:,} lots ({time.perf_counter() - t0:.0f} s)", flush=True)
    with write_tx(eng) as conn:
        if pg:
            for t in ("lot", "lot_link"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))")
    with eng.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return {"levels": levels, "lots": next_lot - 1, "edges": made, "families": fam,
            "seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0}


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def measure(eng: Any, g: dict[str, Any], samples: int, seed: int = 7) -> None:
    from mom.engines.records.context import SYSTEM
    from mom.engines.trace import service, walk
    from mom.platform.composition import form_registry
    from mom.platform.db.engine import read_tx

    rnd = random.Random(seed)
    forms = form_registry()
    lv = g["levels"]
    for way, forward, pool in (("forward", True, lv[0] + lv[1] + lv[2]), ("backward", False, [x for k in range(4, len(lv)) for x in lv[k]])):
        starts = rnd.sample(pool, samples)
        hand = sa.text(HAND.format(near="parent_lot" if forward else "child_lot", far="child_lot" if forward else "parent_lot"))
        ours, mine, full, sizes = [], [], [], []
        cpu_ours = cpu_hand = 0.0
        with read_tx(eng) as conn:
            for s in starts[:10]:          # warm-up: plans, caches
                walk.run(conn, forms, s, forward=forward)
                conn.execute(hand, {"start": s, "depth": 10}).all()
            for n, s in enumerate(starts):
                order = (0, 1) if n % 2 == 0 else (1, 0)
                for which in order:
                    t0, c0 = time.perf_counter(), time.process_time()
                    if which == 0:
                        rows = walk.run(conn, forms, s, forward=forward)
                        ours.append(time.perf_counter() - t0)
                        cpu_ours += time.process_time() - c0
                        sizes.append(len(rows))
                    else:
                        got = conn.execute(hand, {"start": s, "depth": 10}).all()
                        mine.append(time.perf_counter() - t0)
                        cpu_hand += time.process_time() - c0
                assert len(got) == len(rows), "the two queries disagree"
            for s in starts[: max(20, samples // 5)]:
                number = conn.execute(sa.text("SELECT number FROM lot WHERE id = :i"), {"i": s}).scalar_one()
                t0 = time.perf_counter()
                getattr(service, way)(conn, forms, SYSTEM, number)
                full.append(time.perf_counter() - t0)
        ms = lambda v: f"{v * 1000:.1f}"  # noqa: E731
        print(f"{eng.dialect.name} {way}: {samples} start lots, edges returned median {statistics.median(sizes):.0f} "
              f"(max {max(sizes)}); engine p50 {ms(pct(ours, 50))} ms p95 {ms(pct(ours, 95))} ms; hand-written p50 "
              f"{ms(pct(mine, 50))} ms p95 {ms(pct(mine, 95))} ms; ratio p95 {pct(ours, 95) / pct(mine, 95):.2f} "
              f"(CPU of this process {cpu_ours / samples * 1000:.1f} vs {cpu_hand / samples * 1000:.1f} ms per trace); "
              f"full answer (service.{way}, {len(full)} traces) p95 {ms(pct(full, 95))} ms", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--edges", type=int, default=10_000_000)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    kinds = ["sqlite", "postgresql"] if a.db == "both" else [a.db]
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as d:
        try:
            for kind in kinds:
                eng = plant(kind, Path(d))
                g = generate(eng, a.edges)
                print(f"{kind}: generated {g['edges']:,} edges, {g['lots']:,} lots, {g['families']:,} families in "
                      f"{g['seconds']:.0f} s (CPU {g['cpu']:.0f} s)", flush=True)
                measure(eng, g, a.samples)
                eng.dispose()
        finally:
            print(f"load average at end: {os.getloadavg()}")
            if "postgresql" in kinds and not a.keep:
                eng = sa.create_engine(fb.PG)
                with eng.begin() as c:
                    c.exec_driver_sql(f"DROP SCHEMA IF EXISTS bench_{TAG} CASCADE")
                eng.dispose()


if __name__ == "__main__":
    main()
