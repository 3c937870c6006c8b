"""What backflush (倒冲, issue 21) adds to a job report, in-process (no HTTP), in one run.

The core demo plant on a fresh database; ``--orders`` orders of the demo valve released with the BOM as it
ships (every line 领料 pick), then the HT250 line (operation 10) set to 倒冲 backflush and as many orders
released again; 1,000,000 kg of HT250 in one lot at a line-side location of the casting work centre.
Rounds alternate: ``reports.report`` (event report, good 1, its own client_id) at operation 10 of a pick
order, the same at a backflush order (each then also creates and posts a 生产领料 of 6.825 kg, its lot
chosen FEFO), and a plain record create of ``scrap_reason`` — each call in a write transaction of its own.
Per call: wall and CPU ms and SQL statements; the ratios backflush / plain report.

    python bench/backflush_bench.py [--db postgresql|sqlite] [--n 200] [--orders 20] [--rounds 2]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import forms_bench as fb  # noqa: E402
from packs_bench import _now, _since  # noqa: E402
from production_bench import CORE, TAG, _drop  # noqa: E402


def bench(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    import sqlalchemy as sa

    from mom.engines.inventory import posting
    from mom.engines.packs import manager
    from mom.engines.production import release, reports
    from mom.engines.records import service
    from mom.engines.records.context import Ctx, actor_by_username
    from mom.platform.auth import service as auth
    from mom.platform.composition import form_registry
    from mom.platform.db.engine import make_engine, write_tx
    from mom.platform.db.migrate import upgrade

    name = f"bf_{TAG}"
    eng = make_engine(fb.db_url(args.db, tmp, name))
    try:
        upgrade(eng)
        manager.execute(eng, None, "install", str(CORE), forms_factory=form_registry, demo=True)
        forms = form_registry()
        with write_tx(eng) as conn:
            auth.create_user(conn, username="b_admin", is_admin=True)
            auth.create_user(conn, username="bench", roles=["operator", "planner"])   # the planner creates the scrap reasons
        with write_tx(eng) as conn:
            admin, bench_user = actor_by_username(conn, "b_admin"), actor_by_username(conn, "bench")
            ids = {c: conn.execute(sa.text("SELECT id FROM item WHERE code = :c"), {"c": c}).scalar_one()
                   for c in ("FG-V50", "RM-HT250")}

        def ctx(actor: Any) -> Ctx:
            return Ctx(actor=actor, now=dt.datetime.now(dt.timezone.utc))

        def orders(n: int) -> list[str]:
            out = []
            for _ in range(n):
                with write_tx(eng) as conn:
                    order = service.create_records(conn=conn, registry=forms, ctx=ctx(admin), form="production_order",
                                                   docs=[{"item": ids["FG-V50"], "qty": args.qty, "due_date": "2030-12-31T17:00:00+08:00"}])[0]
                    out.append(next(t["code"] for t in release.release(conn, forms, ctx(admin), order["id"])["tasks"]
                                    if t["status"] == "ready"))
            return out

        plain = orders(args.orders)
        with write_tx(eng) as conn:
            wh = conn.execute(sa.text("SELECT id FROM warehouse ORDER BY id LIMIT 1")).scalar_one()
            wc = conn.execute(sa.text("SELECT id FROM work_center WHERE code = 'WC-CAST'")).scalar_one()
            loc = service.create_records(conn=conn, registry=forms, ctx=ctx(admin), form="location", docs=[
                {"code": "LS-CAST", "name": "铸造线边仓", "warehouse": wh, "kind": "line_side", "work_center": wc}])[0]["id"]
            posting.create_and_post(conn, forms, ctx(admin), "stock_receipt", {"supplier": "鞍钢", "lines": [
                {"item": ids["RM-HT250"], "qty": 1_000_000, "to_location": loc, "lot_number": "HT-BENCH"}]})
            conn.execute(sa.text("UPDATE bom__lines SET issue_method = 'backflush' WHERE component = :i"), {"i": ids["RM-HT250"]})
        flushed = orders(args.orders)
        count = [0]
        sa.event.listen(eng, "before_cursor_execute", lambda *a, **k: count.__setitem__(0, count[0] + 1))

        def report(tasks: list[str]) -> Any:
            def one(i: int, tag: str) -> None:
                with write_tx(eng) as conn:
                    reports.report(conn, forms, ctx(bench_user), {"task": tasks[i % len(tasks)], "event": "report",
                                                                 "good_qty": 1, "client_id": f"{tag}-{i:06d}"})
            return one

        def create(i: int, tag: str) -> None:
            with write_tx(eng) as conn:
                service.create_records(conn=conn, registry=forms, ctx=ctx(bench_user), form="scrap_reason",
                                       docs=[{"code": f"{tag}{i:06d}", "name": f"基准原因 {i}", "category": "process"}])

        def run(fn: Any, tag: str) -> tuple[float, float, float]:
            count[0] = 0
            t = _now()
            for i in range(args.n):
                fn(i, tag)
            wall, cpu = _since(t)
            return wall / args.n * 1000, cpu / args.n * 1000, count[0] / args.n

        fns = {"pick_report": report(plain), "backflush_report": report(flushed), "create": create}
        for side, fn in fns.items():
            run(fn, f"w{side[0]}")
        sides: dict[str, list[tuple[float, float, float]]] = {k: [] for k in fns}
        for r in range(args.rounds):
            order = list(fns) if r % 2 == 0 else list(reversed(fns))
            for side in order:
                sides[side].append(run(fns[side], f"{side[0]}{r}"))
        med = {side: [round(statistics.median(x[k] for x in v), 2) for k in range(3)] for side, v in sides.items()}
        with write_tx(eng) as conn:
            issues = conn.execute(sa.text("SELECT count(*) FROM stock_issue")).scalar_one()
        return {"bench": "backflush on job reports, in-process", "db": args.db, "n": args.n, "rounds": args.rounds,
                "orders": args.orders, "order_qty": args.qty, "load_average": [round(x, 1) for x in os.getloadavg()],
                "stock_issues_posted": issues,
                "per_call_median": {side: dict(zip(("wall_ms", "cpu_ms", "statements"), m)) for side, m in med.items()},
                "ratio_backflush_to_pick_report_wall": round(med["backflush_report"][0] / med["pick_report"][0], 2),
                "ratio_backflush_to_pick_report_cpu": round(med["backflush_report"][1] / med["pick_report"][1], 2)}
    finally:
        eng.dispose()
        if args.db == "postgresql":
            _drop([f"bench_{name}"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    ap.add_argument("--pg", default=None, help="PostgreSQL URL (default MOM_BENCH_PG)")
    ap.add_argument("--n", type=int, default=200, help="calls per round and side")
    ap.add_argument("--orders", type=int, default=20, help="orders of each kind")
    ap.add_argument("--qty", type=int, default=1000, help="each order's quantity")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    if args.pg:
        fb.PG = args.pg
    with tempfile.TemporaryDirectory(prefix="mom-backflush-bench-") as t:
        os.environ["MOM_DATA_DIR"] = str(Path(t) / "data")
        os.environ.pop("MOM_PACK_PATH", None)
        print(json.dumps(bench(args, Path(t)), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
