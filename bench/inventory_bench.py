"""Stock posting benchmarks (issue 21, item 9).

``bulk``: ledger lines per second when posting big documents in one transaction each, in process
(``mom.engines.inventory.posting.create_and_post``): a purchase receipt of ``--lines`` lines (a document holds at most 1,000) over
``--items`` untracked items into one location, then a transfer of the same lines to a second location
(two ledger rows per line). Target: >= 2,000 ledger lines/s.

``single``: one-line receipts posted through the HTTP API (``POST /api/inventory/documents/stock_receipt``,
each with its own client_id) against a plain record create (``POST /api/records/scrap_reason``) in
the same process and the same run, interleaved rounds (posts, creates, creates, posts …), through
FastAPI's TestClient (the whole application stack, no network). Target: >= 0.5 x the plain create.

``engine``: the same one-line receipts and plain creates in process, without the API
(``posting.create_and_post`` vs ``service.create_records``, one transaction each, interleaved rounds): the CPU of
the engines' own work per operation, a steadier figure than ``single``'s on a loaded machine.

    python bench/inventory_bench.py bulk   [--db sqlite|postgresql|both] [--lines 1000] [--items 200] [--rounds 3]
    python bench/inventory_bench.py single [--db sqlite|postgresql|both] [--n 200] [--rounds 4]
    python bench/inventory_bench.py engine [--db sqlite|postgresql|both] [--n 200] [--rounds 4]

PostgreSQL: ``MOM_BENCH_PG`` (default postgresql+psycopg://postgres@127.0.0.1:5432/test), one schema per
database made by ``forms_bench.db_url`` and dropped at the end.
"""
from __future__ import annotations

import argparse
import os
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
TAG = f"inv{os.getpid()}"


def count_statements(eng: Any) -> list[int]:
    """A one-element counter of the statements ``eng`` sends (a SQLAlchemy cursor event; COPY is not one)."""
    n = [0]

    def seen(*_: Any) -> None:
        n[0] += 1
    sa.event.listen(eng, "before_cursor_execute", seen)
    return n


def plant(kind: str, tmp: Path, name: str, items: int) -> tuple[Any, dict[str, int], list[int]]:
    """A migrated database with the core pack, ``items`` untracked items and two locations."""
    from mom.engines.packs import manager
    from mom.engines.records import service as S
    from mom.engines.records.context import Ctx
    from mom.platform.composition import form_registry
    from mom.platform.db.engine import make_engine, write_tx
    from mom.platform.db.migrate import upgrade

    url = fb.db_url(kind, tmp, name)
    eng = make_engine(url)
    upgrade(eng)
    manager.execute(eng, None, "install", str(CORE), forms_factory=form_registry)
    forms, ctx = form_registry(), Ctx.system()
    with write_tx(eng) as conn:
        wh = S.create_records(conn=conn, registry=forms, ctx=ctx, form="warehouse", docs=[{"code": "WH", "name": "仓"}])[0]
        locs = S.create_records(conn=conn, registry=forms, ctx=ctx, form="location", docs=[
            {"code": "A", "name": "A", "warehouse": wh["id"]}, {"code": "B", "name": "B", "warehouse": wh["id"]}])
        made = S.create_records(conn=conn, registry=forms, ctx=ctx, form="item", docs=[
            {"code": f"B-{i:05d}", "name": f"物料 {i}", "unit": "件"} for i in range(items)])
    return eng, {"A": locs[0]["id"], "B": locs[1]["id"]}, [m["id"] for m in made]


def bulk(kind: str, tmp: Path, lines: int, items: int, rounds: int) -> None:
    from mom.engines.inventory import balances as B
    from mom.engines.inventory import posting as P
    from mom.engines.records.context import Ctx
    from mom.platform.composition import form_registry
    from mom.platform.db.engine import read_tx, write_tx

    eng, loc, item_ids = plant(kind, tmp, f"{TAG}_bulk", items)
    forms = form_registry()
    stmts = count_statements(eng)
    rates, cpu = [], []
    for r in range(rounds):
        ctx = Ctx.system()
        receipt = [{"item": item_ids[i % len(item_ids)], "qty": 5, "to_location": loc["A"]} for i in range(lines)]
        transfer = [{"item": item_ids[i % len(item_ids)], "qty": 5, "from_location": loc["A"], "to_location": loc["B"]}
                    for i in range(lines)]
        t0, c0, s0 = time.perf_counter(), time.process_time(), stmts[0]
        with write_tx(eng) as conn:
            a = P.create_and_post(conn, forms, ctx, "stock_receipt", {"supplier": "bench", "lines": receipt})
        t1 = time.perf_counter()
        with write_tx(eng) as conn:
            b = P.create_and_post(conn, forms, ctx, "stock_transfer", {"lines": transfer})
        t2, c2 = time.perf_counter(), time.process_time()
        rows = len(a["moves"]) + len(b["moves"])
        rates.append(rows / (t2 - t0))
        cpu.append(rows / (c2 - c0))
        print(f"{kind} round {r + 1}: receipt {lines} lines {t1 - t0:.2f} s ({len(a['moves']) / (t1 - t0):,.0f} rows/s), "
              f"transfer {len(b['moves'])} rows {t2 - t1:.2f} s ({len(b['moves']) / (t2 - t1):,.0f} rows/s); "
              f"together {rates[-1]:,.0f} ledger rows/s ({cpu[-1]:,.0f} per CPU-second of this process); "
              f"{stmts[0] - s0} statements", flush=True)
    with read_tx(eng) as conn:
        assert B.check(conn) == []
    print(f"{kind} bulk: median {statistics.median(rates):,.0f} ledger rows/s, {statistics.median(cpu):,.0f} per CPU-second of "
          f"this process (target >= 2,000); ledger and balances agree; load average {os.getloadavg()[0]:.1f}")
    eng.dispose()


def single(kind: str, tmp: Path, n: int, rounds: int) -> None:
    from fastapi.testclient import TestClient

    from mom.platform.api.app import create_app
    from mom.platform.auth import service as auth
    from mom.platform.db.engine import write_tx
    from mom.platform.settings import Settings

    eng, loc, item_ids = plant(kind, tmp, f"{TAG}_single", 50)
    with write_tx(eng) as conn:
        auth.create_user(conn, username="store1", password="store-pass-1", roles=["storekeeper"], is_admin=True)
    url = eng.url.render_as_string(hide_password=False)
    settings = Settings(data_dir=tmp / "data", database_url=url, require_row_version=False)
    seq = iter(range(10**9))
    stmts = count_statements(eng)
    per: dict[str, float] = {}
    with TestClient(create_app(settings, eng, migrate=False)) as client:
        tok = client.post("/api/auth/token", data={"username": "store1", "password": "store-pass-1"}).json()["access_token"]
        head = {"Authorization": f"Bearer {tok}"}

        def posts() -> tuple[float, float]:
            t, c, s0 = time.perf_counter(), time.process_time(), stmts[0]
            for _ in range(n):
                i = next(seq)
                r = client.post("/api/inventory/documents/stock_receipt", headers=head, json={
                    "supplier": "bench", "client_id": f"b-{i}",
                    "lines": [{"item": item_ids[i % len(item_ids)], "qty": 1, "to_location": loc["A"]}]})
                assert r.status_code == 201, r.text
            per["posting"] = (stmts[0] - s0) / n
            return n / (time.perf_counter() - t), n / (time.process_time() - c)

        def creates() -> tuple[float, float]:
            t, c, s0 = time.perf_counter(), time.process_time(), stmts[0]
            for _ in range(n):
                r = client.post("/api/records/scrap_reason", headers=head, json={"code": f"S{next(seq)}", "name": "bench"})
                assert r.status_code == 201, r.text
            per["create"] = (stmts[0] - s0) / n
            return n / (time.perf_counter() - t), n / (time.process_time() - c)

        posts(), creates()                       # warm up
        ratios, cpu = [], []
        for r in range(rounds):
            if r % 2 == 0:
                p, c = posts(), creates()
            else:
                c, p = creates(), posts()
            ratios.append(p[0] / c[0])
            cpu.append(p[1] / c[1])
            print(f"{kind} round {r + 1}: posting {p[0]:.0f}/s, plain create {c[0]:.0f}/s, ratio {ratios[-1]:.2f} "
                  f"(CPU of this process: {p[1]:.0f}/s vs {c[1]:.0f}/s, ratio {cpu[-1]:.2f})", flush=True)
    print(f"{kind} single: median ratio {statistics.median(ratios):.2f}, by CPU {statistics.median(cpu):.2f} (target >= 0.5); "
          f"statements per posting {per['posting']:.1f}, per plain create {per['create']:.1f}; load average "
          f"{os.getloadavg()[0]:.1f}")
    eng.dispose()


def engine(kind: str, tmp: Path, n: int, rounds: int) -> None:
    from mom.engines.inventory import posting as P
    from mom.engines.records import service as S
    from mom.engines.records.context import Ctx
    from mom.platform.composition import form_registry
    from mom.platform.db.engine import write_tx

    eng, loc, item_ids = plant(kind, tmp, f"{TAG}_engine", 50)
    forms, seq = form_registry(), iter(range(10**9))

    def posts() -> float:
        c = time.process_time()
        for _ in range(n):
            i = next(seq)
            with write_tx(eng) as conn:
                P.create_and_post(conn, forms, Ctx.system(), "stock_receipt", {
                    "supplier": "bench", "client_id": f"b-{i}",
                    "lines": [{"item": item_ids[i % len(item_ids)], "qty": 1, "to_location": loc["A"]}]})
        return (time.process_time() - c) / n

    def creates() -> float:
        c = time.process_time()
        for _ in range(n):
            with write_tx(eng) as conn:
                S.create_records(conn=conn, registry=forms, ctx=Ctx.system(), form="scrap_reason",
                                 docs=[{"code": f"S{next(seq)}", "name": "bench"}])
        return (time.process_time() - c) / n

    posts(), creates()                       # warm up
    p, c = [], []
    for r in range(rounds):
        if r % 2 == 0:
            p.append(posts()), c.append(creates())
        else:
            c.append(creates()), p.append(posts())
        print(f"{kind} round {r + 1}: posting {p[-1] * 1000:.2f} ms CPU, plain create {c[-1] * 1000:.2f} ms CPU", flush=True)
    print(f"{kind} engine: median CPU per one-line posting {statistics.median(p) * 1000:.2f} ms, per plain create "
          f"{statistics.median(c) * 1000:.2f} ms; load average {os.getloadavg()[0]:.1f}")
    eng.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["bulk", "single", "engine"])
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--lines", type=int, default=1000)
    ap.add_argument("--items", type=int, default=200)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    kinds = ["sqlite", "postgresql"] if a.db == "both" else [a.db]
    with tempfile.TemporaryDirectory() as d:
        try:
            for kind in kinds:
                if a.what == "bulk":
                    bulk(kind, Path(d), a.lines, a.items, a.rounds)
                elif a.what == "engine":
                    engine(kind, Path(d), a.n, a.rounds)
                else:
                    single(kind, Path(d), a.n, a.rounds)
        finally:
            if "postgresql" in kinds:
                eng = sa.create_engine(fb.PG)
                with eng.begin() as c:
                    for name in ("bulk", "single", "engine"):
                        c.exec_driver_sql(f"DROP SCHEMA IF EXISTS bench_{TAG}_{name} CASCADE")
                eng.dispose()


if __name__ == "__main__":
    main()
