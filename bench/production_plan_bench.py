"""Scheduling from the database (issue 19): building the schedule problem from 300 released orders × 6
operations and writing a schedule back (every task and order changed), against the baseline of reading
the same rows with one SELECT (tasks joined to their orders), measured in the same run. Target: build +
write-back <= 2 s together, solving excluded, on SQLite and PostgreSQL. See docs/benchmarks.md.

    python bench/production_plan_bench.py [--db sqlite|postgresql|both] [--orders 300] [--rounds 3]

Also measured: the build without the material step (物料约束, materials.py; thirty purchase order lines of the
component are set up), as ``materials_ratio`` = build / build without it, in the same run.

PostgreSQL: ``MOM_BENCH_PG`` (default postgresql+psycopg://postgres@127.0.0.1:5432/test), one schema per
run made by ``forms_bench.db_url``. The setup (core pack with its demo plant, a 6-operation routing,
the orders created and released through the production engine) is not measured.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forms_bench import db_url  # noqa: E402

OPS = [("下料", "FUR-1", 20, 3), ("粗车", "CNC-1", 30, 5), ("精车", "CNC-2", 30, 6), ("钻孔", "CNC-1", 15, 2),
       ("装配", "ASM-1", 10, 4), ("试压", "ASM-1", 5, 2)]


def setup(engine: sa.engine.Engine, n_orders: int) -> None:
    from mom.engines.forms.fieldtypes import plant_tz
    from mom.engines.packs import manager
    from mom.engines.production.release import release
    from mom.engines.records.context import Ctx
    from mom.engines.records.service import create_records
    from mom.platform.composition import form_registry
    from mom.platform.db.engine import write_tx

    tz = plant_tz("Asia/Shanghai")
    manager.execute(engine, None, "install", "core", forms_factory=form_registry, demo=True, tz=tz)
    forms, ctx = form_registry(), Ctx.system(tz=tz)
    with write_tx(engine) as conn:
        ids = {c: i for c, i in conn.execute(sa.text("SELECT code, id FROM machine"))}
        centre = {c: i for c, i in conn.execute(sa.text("SELECT m.code, m.work_center FROM machine m"))}
        raw = conn.execute(sa.text("SELECT id FROM item WHERE code = 'RM-HT250'")).scalar()
        item = create_records(conn=conn, registry=forms, ctx=ctx, form="item", docs=[
            {"code": "BENCH-6", "name": "六工序试件", "item_type": "finished", "unit": "件"}])[0]["id"]
        create_records(conn=conn, registry=forms, ctx=ctx, form="bom", docs=[
            {"code": "BOM-BENCH-6", "item": item, "is_default": True, "status": "active", "base_qty": 1,
             "lines": [{"line_no": 10, "component": raw, "qty_per": 2}]}])
        create_records(conn=conn, registry=forms, ctx=ctx, form="routing", docs=[
            {"code": "RT-BENCH-6", "name": "六工序", "item": item, "is_default": True, "status": "active",
             "operations": [{"op_seq": 10 * (k + 1), "name": n, "work_center": centre[m], "machine": ids[m], "setup_min": s,
                             "run_min": r} for k, (n, m, s, r) in enumerate(OPS)],
             "alternatives": [{"op_seq": 20, "machine": ids["CNC-2"], "setup_min": 30, "run_min": 6},
                              {"op_seq": 30, "machine": ids["CNC-1"], "setup_min": 30, "run_min": 5}]}])
        due = dt.datetime.now(tz) + dt.timedelta(days=10)
        made = create_records(conn=conn, registry=forms, ctx=ctx, form="production_order", docs=[
            {"item": item, "qty": 5 + i % 20, "due_date": (due + dt.timedelta(hours=i)).isoformat(), "priority": 1 + i % 9}
            for i in range(n_orders)])
        for m in made:
            release(conn, forms, ctx, m["id"])
        # 物料约束: iron by purchase order, 100 kg a day for 30 days (covers about a third of the orders' need;
        # the rest is 缺料), so the materials step has receipts to allocate
        today = dt.datetime.now(tz).date()
        create_records(conn=conn, registry=forms, ctx=ctx, form="purchase_order", docs=[
            {"supplier": "鞍钢", "lines": [{"item": raw, "qty": 100, "due_date": (today + dt.timedelta(days=d)).isoformat()}
                                           for d in range(1, 31)]}])


def shifted(doc: dict[str, Any], minutes: int) -> dict[str, Any]:
    """The schedule moved by ``minutes``: every task and order gets new planned times."""
    return {**doc, "operations": [{**op, "start": op["start"] + minutes, "end": op["end"] + minutes}
                                  for op in doc["operations"]]}


def run(kind: str, n_orders: int, rounds: int, tmp: Path) -> dict[str, Any]:
    from mom.engines.forms.fieldtypes import plant_tz
    from mom.engines.production import planning
    from mom.engines.records.context import Ctx
    from mom.engines.scheduling import solution, solver
    from mom.platform.composition import form_registry
    from mom.platform.db.engine import make_engine, read_tx, write_tx
    from mom.platform.db.migrate import upgrade

    engine = make_engine(db_url(kind, tmp, f"plan_{kind}"))
    upgrade(engine)
    setup(engine, n_orders)
    forms, ctx = form_registry(), Ctx.system(tz=plant_tz("Asia/Shanghai"))
    t0 = time.perf_counter()
    with read_tx(engine) as conn:
        problem, index = planning.build_problem(conn, forms, now=ctx.now, tz=ctx.tz)
    res = solver.solve(problem, time_limit=5)
    doc = solution.to_json(res.problem, res.schedule, violations=res.violations)
    solve_s = time.perf_counter() - t0
    base, build, write, bare, cpu_build, cpu_bare = [], [], [], [], [], []
    from mom.engines.production import materials
    with_materials = materials.allocate
    for r in range(rounds):
        materials.allocate = lambda *a, **k: materials.Allocation()        # the build without 物料约束
        try:
            t, c = time.perf_counter(), time.process_time()
            with read_tx(engine) as conn:
                planning.build_problem(conn, forms, now=ctx.now, tz=ctx.tz)
            bare.append(time.perf_counter() - t)
            cpu_bare.append(time.process_time() - c)
        finally:
            materials.allocate = with_materials
        t = time.perf_counter()
        with read_tx(engine) as conn:
            rows = conn.execute(sa.text("SELECT t.*, o.* FROM operation_task t JOIN production_order o ON o.id = t.production_order "
                                        "WHERE t.deleted_at IS NULL AND o.status IN ('released', 'started')")).all()
        base.append(time.perf_counter() - t)
        t, c = time.perf_counter(), time.process_time()
        with read_tx(engine) as conn:
            problem, index = planning.build_problem(conn, forms, now=ctx.now, tz=ctx.tz)
        build.append(time.perf_counter() - t)
        cpu_build.append(time.process_time() - c)
        t = time.perf_counter()
        with write_tx(engine) as conn:
            changed = planning.write_back(conn, forms, ctx, index, shifted(doc, 60 * (r + 1)))
        write.append(time.perf_counter() - t)
        assert changed["tasks"] == len(rows) and changed["orders"] == n_orders, changed
    engine.dispose()
    med = statistics.median
    return {"db": kind, "orders": n_orders, "tasks": len(rows), "select_ms": round(med(base) * 1000, 1),
            "build_ms": round(med(build) * 1000, 1), "build_without_materials_ms": round(med(bare) * 1000, 1),
            "materials_ratio": round(med(build) / med(bare), 2), "build_cpu_ms": round(med(cpu_build) * 1000, 1),
            "build_without_materials_cpu_ms": round(med(cpu_bare) * 1000, 1),
            "materials_cpu_ratio": round(med(cpu_build) / med(cpu_bare), 2),
            "with_materials": sum(1 for o in problem["orders"] for op in o["operations"] if op.get("materials")),
            "shortages": len(index.shortages), "write_back_ms": round(med(write) * 1000, 1),
            "build_plus_write_s": round(med(build) + med(write), 2),
            "build_vs_select": round(med(build) / med(base), 1), "write_vs_select": round(med(write) / med(base), 1),
            "solve_s (excluded)": round(solve_s, 1), "rounds": rounds}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--orders", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    kinds = ["sqlite", "postgresql"] if a.db == "both" else [a.db]
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            print(run(kind, a.orders, a.rounds, Path(tmp)), flush=True)


if __name__ == "__main__":
    main()
