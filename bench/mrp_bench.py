"""MRP full regeneration and net change (issue 21 item 9): 20,000 items in 6-level BOMs, 100,000 sales
order lines over 26 weekly buckets; targets <= 30 s for a full run, reading and writing the database
included, and <= 1 s for a net-change run after one sales order line changes; on SQLite and PostgreSQL.
Each figure comes with this process's CPU time and, on PostgreSQL, the full run's CPU time in the database
backend that served it (read from /proc: the server runs on this machine), and the load average at the end: on
a shared machine CPU times are the better guide.
The baseline, measured in the same run, is a plain bulk insert (``platform.db.bulk.insert_many``, COPY on
PostgreSQL) of as many suggestion and pegging rows as the full run wrote, in a transaction rolled back.
See docs/benchmarks.md, section "MRP (issue 21)".

    python bench/mrp_bench.py [--db sqlite|postgresql|both] [--items 20000] [--lines 100000] [--rounds 2] [--phases]

``--phases`` adds the CPU seconds (and the wall seconds) of the full run's phases (reading, planning, building the entries, numbering,
the suggestions' insert through the record service, removing the earlier proposed ones), summed over rounds.

PostgreSQL: ``MOM_BENCH_PG`` (default postgresql+psycopg://postgres@127.0.0.1:5432/test), one schema per run
(``forms_bench.db_url``). The plant is generated with a fixed seed and written in bulk through the record
service's insert (not measured): levels of 2,000 / 4,000 / 4,000 / 4,000 / 3,000 / 3,000 items, each made item
with 3 components from the next level down and every fifth one a fourth from two levels down (shared parts:
low-level codes differ from the levels); lot rules a mix (1/6 lot for lot, 1/3 fixed, 1/3 multiple, 1/6 minimum) with
lots of about three weeks of the level's expected demand, qty per 1 or 2, lead times 1-10 working days, safety stock on a tenth; 10,000 open sales orders of 10
lines on the finished items, due over the 26 weeks.
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
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forms_bench import db_url  # noqa: E402

LEVELS = (2000, 4000, 4000, 4000, 3000, 3000)


def _scale(n_items: int) -> list[int]:
    total = sum(LEVELS)
    sizes = [max(1, round(s * n_items / total)) for s in LEVELS]
    return sizes


def setup(engine: sa.engine.Engine, n_items: int, n_lines: int, seed: int = 21) -> dict[str, Any]:
    from mom.engines.forms.fieldtypes import plant_tz
    from mom.engines.packs import manager
    from mom.engines.records import service as S
    from mom.engines.records import values as V
    from mom.engines.records.context import Ctx
    from mom.platform.composition import form_registry
    from mom.platform.db.engine import write_tx

    tz = plant_tz("Asia/Shanghai")
    manager.execute(engine, None, "install", "core", forms_factory=form_registry, demo=False, tz=tz)
    forms, ctx = form_registry(), Ctx.system(tz=tz)
    rnd = random.Random(seed)
    today = dt.datetime.now(tz).date()
    levels: list[list[int]] = []
    sizes = _scale(n_items)
    weekly = [n_lines * 20.5 / 26 / sizes[0]]          # expected weekly need per item, level by level
    for k in range(1, len(sizes)):
        weekly.append(weekly[-1] * sizes[k - 1] * (3 + (0.2 if k >= 2 else 0)) * 1.25 / sizes[k])
    with write_tx(engine) as conn:
        item_form, bom_form, so_form = (forms.get(conn, n) for n in ("item", "bom", "sales_order"))
        n = 0
        for depth, size in enumerate(sizes):
            preps = []
            lot = Decimal(max(10, round(weekly[depth] * 3, -1)))      # about three weeks of demand
            for _ in range(size):
                n += 1
                rule = rnd.choice(("lot_for_lot", "fixed", "fixed", "multiple", "multiple", "minimum"))
                preps.append(V.Prepared({
                    "code": f"I{depth}-{n:06d}", "name": f"物料 {n}", "unit": "件",
                    "item_type": "finished" if depth == 0 else "raw" if depth == len(LEVELS) - 1 else "semi",
                    "lead_time_days": rnd.randint(1, 10), "lot_size_rule": rule,
                    "lot_size": lot if rule != "lot_for_lot" else None,
                    "safety_stock": Decimal(rnd.choice((10, 20))) if rnd.random() < 0.1 else None, "tracking": "none"}, {}))
            levels.append([int(r["id"]) for r in S.insert_rows(conn, item_form, ctx, preps, audit=False)])
        boms = []
        for depth in range(len(levels) - 1):
            below, further = levels[depth + 1], levels[depth + 2] if depth + 2 < len(levels) else None
            for i, parent in enumerate(levels[depth]):
                comps = rnd.sample(below, 3)
                if further and i % 5 == 0:
                    comps.append(rnd.choice(further))
                boms.append(V.Prepared({"code": f"BOM-{parent}", "item": parent, "version": "1", "is_default": True,
                                        "status": "active", "base_qty": Decimal(1)},
                                       {"lines": [{"line_no": k + 1, "component": c, "qty_per": Decimal(rnd.choice((1, 1, 1, 2))),
                                                   "scrap_rate": Decimal(rnd.choice((0, 0, 0, 2)))} for k, c in enumerate(comps)]}))
        S.insert_rows(conn, bom_form, ctx, boms, audit=False)
        orders, per = [], 10
        for o in range(max(1, n_lines // per)):
            due = today + dt.timedelta(days=rnd.randint(0, 26 * 7 - 1))
            orders.append(V.Prepared({"customer": f"客户 {o % 500}", "order_date": today, "due_date": due, "status": "open"},
                                     {"lines": [{"item": rnd.choice(levels[0]), "qty": Decimal(rnd.randint(1, 40)),
                                                 "due_date": due + dt.timedelta(days=rnd.randint(0, 6))} for _ in range(per)]}))
        S.insert_rows(conn, so_form, ctx, orders, audit=False)
    return {"items": sum(len(x) for x in levels), "bom_lines": sum(len(b.children["lines"]) for b in boms),
            "demand_lines": len(orders) * per}


def baseline(engine: sa.engine.Engine, n_sugg: int, n_pegs: int) -> float:
    """Seconds to bulk-insert ``n_sugg`` suggestion rows and ``n_pegs`` pegging rows, rolled back."""
    from mom.platform.composition import form_registry
    from mom.platform.db import bulk

    forms = form_registry()
    now = dt.datetime.now(dt.timezone.utc)
    with engine.connect() as conn:
        tx = conn.begin()
        f = forms.get(conn, "mrp_suggestion")
        s, peg = f.main, f.children["pegging"]
        item = conn.execute(sa.text("SELECT min(id) FROM item")).scalar()
        base = 10_000_000
        t = time.perf_counter()
        bulk.insert_many(conn, s, [{"id": base + i, "code": f"B-{i}", "item": item, "kind": "make", "qty": Decimal(10),
                                    "release_date": now.date(), "due_date": now.date(), "status": "proposed", "level": 0}
                                   for i in range(n_sugg)],
                         const={"row_version": 1, "form_version": f.version, "created_at": now, "updated_at": now})
        bulk.insert_many(conn, peg, [{"parent_id": base + i % max(1, n_sugg), "seq": i, "demand_kind": "sales_order",
                                      "demand": "SO", "qty": Decimal(1)} for i in range(n_pegs)])
        took = time.perf_counter() - t
        tx.rollback()
    return took


def server_cpu(conn: Any) -> float:
    """CPU seconds (user + system) of the PostgreSQL backend serving ``conn`` so far, read from /proc (the
    server runs on this machine); -1 on SQLite or when it cannot be read. Load-independent, unlike wall time."""
    if conn.dialect.name != "postgresql":
        return -1.0
    pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return -1.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def phase_timers(phases: dict[str, float]) -> None:
    """Wrap the full run's steps so that each adds its CPU seconds to ``phases`` (this process only)."""
    import functools
    import types

    from mom.engines.mrp import documents as D
    from mom.engines.mrp import plan as M
    from mom.engines.mrp import runs as R
    from mom.engines.mrp import writing as W

    def timed(owner: Any, name: str) -> None:
        fn = getattr(owner, name)

        @functools.wraps(fn)
        def wrapper(*a: Any, **k: Any) -> Any:
            c, w = time.process_time(), time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                phases[name] = phases.get(name, 0.0) + time.process_time() - c
                phases[name + " (wall)"] = phases.get(name + " (wall)", 0.0) + time.perf_counter() - w
        setattr(owner, name, wrapper)

    W.S = types.SimpleNamespace(insert_rows=W.S.insert_rows)     # the record service's insert, as MRP calls it
    for owner, name in ((D, "read_problem"), (M, "plan"), (W, "entries"), (W, "numbers"), (W.S, "insert_rows"),
                        (R, "_remove_proposed")):
        timed(owner, name)


def run(kind: str, n_items: int, n_lines: int, rounds: int, tmp: Path, phases: dict[str, float] | None = None) -> dict[str, Any]:
    from mom.engines.forms.fieldtypes import plant_tz
    from mom.engines.mrp import listing, runs
    from mom.engines.records.context import Ctx
    from mom.platform.composition import form_registry
    from mom.platform.db.engine import make_engine, read_tx, write_tx
    from mom.platform.db.migrate import upgrade

    engine = make_engine(db_url(kind, tmp, f"mrp_{kind}"))
    upgrade(engine)
    t = time.perf_counter()
    shape = setup(engine, n_items, n_lines)
    setup_s = time.perf_counter() - t
    forms = form_registry()
    full, net, base, full_cpu, net_cpu, base_cpu, server_s = [], [], [], [], [], [], []
    for _ in range(rounds):
        ctx = Ctx.system(tz=plant_tz("Asia/Shanghai"))
        done = dict(phases or {})
        t, c = time.perf_counter(), time.process_time()
        with write_tx(engine) as conn:
            server = server_cpu(conn)
            out = runs.run(conn, forms, ctx, bucket="week", horizon=26)
            server_s.append(server_cpu(conn) - server if server >= 0 else -1.0)
        full.append(time.perf_counter() - t)
        full_cpu.append(time.process_time() - c)
        if phases is not None:      # the net change below calls the same steps: keep the full run's share only
            full_phases = {k: round(v - done.get(k, 0.0), 2) for k, v in phases.items()}
        with read_tx(engine) as conn:
            n_sugg = conn.execute(sa.text("SELECT count(*) FROM mrp_suggestion WHERE status = 'proposed'")).scalar()
            n_pegs = conn.execute(sa.text("SELECT count(*) FROM mrp_suggestion__pegging")).scalar()
        # pegging is computed when asked for: a workbench page of 1,000 suggestions with their pegging, and
        # the demands at the top of the first suggestion at the deepest level (followed up every level)
        t = time.perf_counter()
        with read_tx(engine) as conn:
            page = listing.run_with_suggestions(conn, forms, ctx, out["id"], limit=1000)
        page_s = time.perf_counter() - t
        with read_tx(engine) as conn:
            deep = conn.execute(sa.text("SELECT id FROM mrp_suggestion WHERE status = 'proposed' AND exception IS NULL "
                                        "ORDER BY level DESC, id LIMIT 1")).scalar()
            t = time.perf_counter()
            top = listing.top_demands(conn, forms, ctx, deep)
            top_s = time.perf_counter() - t
        pegs_page = sum(len(x["pegging"]) for x in page["suggestions"])
        c = time.process_time()
        base.append(baseline(engine, n_sugg, n_pegs))
        base_cpu.append(time.process_time() - c)
        # one sales order line changes (its quantity), then a net-change run
        time.sleep(0.01)
        with write_tx(engine) as conn:
            so = conn.execute(sa.text("SELECT min(id) FROM sales_order")).scalar()
            conn.execute(sa.text("UPDATE sales_order__lines SET qty = qty + 5 WHERE parent_id = :so AND seq = 1"), {"so": so})
            conn.execute(sa.text("UPDATE sales_order SET updated_at = :now, row_version = row_version + 1 WHERE id = :so"),
                         {"so": so, "now": dt.datetime.now(dt.timezone.utc)})
        ctx = Ctx.system(tz=plant_tz("Asia/Shanghai"))
        t, c = time.perf_counter(), time.process_time()
        with write_tx(engine) as conn:
            small = runs.run(conn, forms, ctx, bucket="week", horizon=26, mode=runs.NET_CHANGE)
        net.append(time.perf_counter() - t)
        net_cpu.append(time.process_time() - c)
    engine.dispose()
    med = statistics.median
    return {"db": kind, **shape, "setup_s (excluded)": round(setup_s, 1), "suggestions": out["suggestion_count"],
            "pegging_rows": n_pegs, "exceptions": out["exception_count"], "full_s": round(med(full), 2),
            "baseline_insert_s": round(med(base), 2), "full_vs_baseline": round(med(full) / med(base), 1),
            "full_cpu_s": round(med(full_cpu), 1), "baseline_cpu_s": round(med(base_cpu), 1),
            "full_vs_baseline_cpu": round(med(full_cpu) / med(base_cpu), 1),
            "full_server_cpu_s (PostgreSQL backend, before commit)": round(med(server_s), 1) if server_s[0] >= 0 else None,
            "net_change_s": round(med(net), 3), "net_change_cpu_s": round(med(net_cpu), 3),
            "net_change_items": small["item_count"], "net_change_written": small["ids_written"],
            "load_average": [round(x, 1) for x in os.getloadavg()],
            "net_change_suggestions": small["suggestion_count"], "rounds": rounds,
            "pegging_page_1000_s": round(page_s, 2), "pegging_rows_on_page": pegs_page,
            "top_demands_deepest_s": round(top_s, 2), "top_demands": len(top["demands"]),
            **({"full_phases_cpu_s (last round)": full_phases} if phases is not None else {})}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--items", type=int, default=20_000)
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--phases", action="store_true", help="CPU seconds of the full run's phases")
    a = ap.parse_args()
    phases: dict[str, float] | None = {} if a.phases else None
    if phases is not None:
        phase_timers(phases)
    kinds = ["sqlite", "postgresql"] if a.db == "both" else [a.db]
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            if phases is not None:
                phases.clear()
            print(run(kind, a.items, a.lines, a.rounds, Path(tmp), phases), flush=True)


if __name__ == "__main__":
    main()
