"""Production benchmarks (issue 19): installing the core pack, and job reports (报工) over HTTP.

``install``: ``mom pack install core`` (``manager.plan`` + ``manager.execute``, without and with the
demo plant) on an empty SQLite and PostgreSQL database, against the baseline of publishing the same
definitions straight through the stores in one transaction (``bench/packs_bench.py``'s baseline: what
``mom form apply modelpacks/core`` does), rounds alternating which side goes first. Targets: the
install <= 20 s on SQLite, <= 30 s on PostgreSQL.

``reports``: ``mom serve --workers 2`` on a fresh PostgreSQL database with ``core --demo`` and
``--orders`` released orders of the demo valve (4 operations each). Clients post
``POST /api/production/reports`` (event ``report``, good 1, a unique ``client_id``, the task named by
its code as a scanner sends it) against a plain record create (``POST /api/records/scrap_reason``)
on the same server, interleaved rounds (reports, creates, creates, reports …); then a shift-change
burst: ``--operators`` operators, each with an API token of their own, each posting one report on a
connection of their own, the starts spread evenly over 10 s (and once all at the same moment).
Targets: >= 300 reports/s, >= 0.4 × the plain create, burst p95 <= 200 ms.

    python bench/production_bench.py install [--db sqlite|postgresql|both] [--rounds 3]
    python bench/production_bench.py reports [--clients 8] [--n 1500] [--rounds 4] [--orders 300] [--operators 200]
    python bench/production_bench.py inprocess [--db postgresql|sqlite] [--n 200] [--orders 20]

``inprocess`` also reads the CPU of the PostgreSQL server processes behind its connections (a local
server: /proc), per call, and the ratio of both processes' CPU — what two shared cores spend on a call
over HTTP, less the HTTP layer's own.

``--pack DIR`` measures another copy of the core pack (e.g. ``git archive`` of an earlier commit).

PostgreSQL: ``MOM_BENCH_PG`` (default postgresql+psycopg://postgres@127.0.0.1:5432/test), one schema
per database made by ``forms_bench.db_url`` and dropped at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import forms_bench as fb  # noqa: E402
from packs_bench import Timing, _now, _since, baseline, fresh  # noqa: E402

CORE = Path(__file__).resolve().parents[1] / "modelpacks" / "core"
TAG = f"w{os.getpid()}"            # schema names of this run: bench_core_<tag>…, dropped at the end


# ---------------------------------------------------------------- (a) install


def install(eng: Any, demo: bool) -> Timing:
    """``mom pack install core --yes [--demo]``: plan (decide + rehearse), then execute."""
    from mom.engines.packs import manager
    from mom.platform.composition import form_registry

    t = _now()
    p = manager.plan(eng, "install", str(CORE), forms_factory=form_registry, demo=demo)
    assert not p.blocked, p.describe("en")
    manager.execute(eng, None, "install", str(CORE), forms_factory=form_registry, demo=demo)
    return _since(t)


def bench_install(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in (("sqlite", "postgresql") if args.db == "both" else (args.db,)):
        rows: dict[str, list[Timing]] = {"baseline": [], "install": [], "install_demo": []}
        schemas = []
        for r in range(args.rounds):
            sides = ["baseline", "install", "install_demo"]
            for side in (sides if r % 2 == 0 else list(reversed(sides))):
                name = f"core_{TAG}_{side}{r}"
                schemas.append(name)
                eng = fresh(kind, tmp, name)
                try:
                    rows[side].append(baseline(eng, CORE) if side == "baseline" else install(eng, side == "install_demo"))
                finally:
                    eng.dispose()
            print(f"  {kind} round {r + 1}: " + ", ".join(f"{k} {v[-1][0]:.2f}s" for k, v in rows.items()), file=sys.stderr)
        med = {k: round(statistics.median(x[0] for x in v), 2) for k, v in rows.items()}
        limit = 20.0 if kind == "sqlite" else 30.0
        out[kind] = {"wall_median_s": med, "wall_all_s": {k: [round(x[0], 2) for x in v] for k, v in rows.items()},
                     "cpu_median_s": {k: round(statistics.median(x[1] for x in v), 2) for k, v in rows.items()},
                     "ratio_to_baseline": {k: round(med[k] / med["baseline"], 2) for k in ("install", "install_demo")},
                     f"target_install_le_{int(limit)}s": max(x[0] for x in rows["install"] + rows["install_demo"]) <= limit}
        if kind == "postgresql":
            _drop([f"bench_{s}" for s in schemas])
    return out


def _drop(schemas: list[str]) -> None:
    import sqlalchemy as sa

    eng = sa.create_engine(fb.PG)
    with eng.begin() as c:
        for s in schemas:
            c.exec_driver_sql(f"DROP SCHEMA IF EXISTS {s} CASCADE")
    eng.dispose()


# ---------------------------------------------------------------- (b) job reports over HTTP


def prepare(url: str, operators: int) -> dict[str, Any]:
    """core --demo installed; an admin (set-up), a bench user (operator + planner: posts both sides of
    the throughput test) and ``operators`` operators, each with an API token."""
    from mom.engines.packs import manager
    from mom.platform.auth import service as auth
    from mom.platform.composition import form_registry
    from mom.platform.db.engine import make_engine, write_tx
    from mom.platform.db.migrate import upgrade

    eng = make_engine(url)
    upgrade(eng)
    manager.execute(eng, None, "install", str(CORE), forms_factory=form_registry, demo=True)
    tokens: dict[str, Any] = {"operators": []}
    with write_tx(eng) as conn:
        for name, admin, roles in (("admin", True, []), ("bench", False, ["operator", "planner"])):
            uid = auth.create_user(conn, username=f"b_{name}", is_admin=admin, roles=roles)
            tokens[name] = auth.issue_token(conn, uid, kind="api", name="bench")["access_token"]
        for i in range(operators):
            uid = auth.create_user(conn, username=f"op{i:03d}", display_name=f"操作工 {i}", roles=["operator"])
            tokens["operators"].append(auth.issue_token(conn, uid, kind="api", name="scanner")["access_token"])
    eng.dispose()
    return tokens


def release_orders(base: str, admin: str, n: int, qty: int = 1000) -> list[str]:
    """``n`` orders of ``qty`` demo valves (1,000: a run's ~25 reports of 1 per order never reach the first
    task's limit), released through the API; the codes of their first operation tasks (the ready ones)."""
    import httpx

    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin}"}, timeout=60) as c:
        items = c.get("/api/records/item", params={"limit": 100}).json()["items"]
        valve = next(i["id"] for i in items if i["code"] == "FG-V50")
        first = []
        for k in range(n):
            r = c.post("/api/records/production_order", json={"item": valve, "qty": qty, "priority": 1 + k % 9,
                                                              "due_date": "2026-12-31T17:00:00+08:00"})
            r.raise_for_status()
            rel = c.post(f"/api/production/orders/{r.json()['id']}/release")
            rel.raise_for_status()
            first.append(next(t["code"] for t in rel.json()["tasks"] if t["status"] == "ready"))
    return first


def _request(u: Any, path: str, token: str, body: dict[str, Any]) -> bytes:
    b = json.dumps(body, ensure_ascii=False).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: {u.netloc}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(b)}\r\n\r\n").encode() + b


async def _exchange(r: asyncio.StreamReader, w: asyncio.StreamWriter, req: bytes) -> bytes:
    w.write(req)
    status = await r.readline()
    length = 0
    while (line := await r.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    body = await r.readexactly(length)
    if b" 201 " not in status:
        raise SystemExit(f"unexpected answer {status!r}: {body[:400]!r}")
    return body


def drive(base: str, reqs: list[bytes], clients: int) -> float:
    """Requests per second: ``clients`` keep-alive connections from one asyncio loop (the load
    generator costs the server's 2 cores as little as possible), requests encoded beforehand."""
    u = urlsplit(base)

    async def one(k: int) -> None:
        r, w = await asyncio.open_connection(u.hostname, u.port)
        for i in range(k, len(reqs), clients):
            await _exchange(r, w, reqs[i])
        w.close()

    async def all_() -> float:
        t = time.perf_counter()
        await asyncio.gather(*(one(k) for k in range(clients)))
        return len(reqs) / (time.perf_counter() - t)

    return asyncio.run(all_())


def burst(base: str, reqs: list[bytes], spread_s: float) -> list[float]:
    """Each request on a connection of its own (one operator's scanner), the starts spread evenly over
    ``spread_s`` seconds; the latency of each in ms, connecting included."""
    u = urlsplit(base)

    async def one(req: bytes, at: float, t0: float) -> float:
        await asyncio.sleep(max(0.0, t0 + at - time.perf_counter()))
        t = time.perf_counter()
        r, w = await asyncio.open_connection(u.hostname, u.port)
        await _exchange(r, w, req)
        ms = (time.perf_counter() - t) * 1000
        w.close()
        return ms

    async def all_() -> list[float]:
        t0 = time.perf_counter() + 0.2
        return list(await asyncio.gather(*(one(q, spread_s * i / len(reqs), t0) for i, q in enumerate(reqs))))

    return asyncio.run(all_())


def _p(values: list[float], q: float) -> float:
    s = sorted(values)
    return round(s[min(len(s) - 1, int(q * len(s)))], 1)


def bench_reports(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    name = f"prod_{TAG}"
    url = fb.db_url("postgresql", tmp, name)
    try:
        tokens = prepare(url, args.operators)
        port = fb.free_port()
        server = fb.start([sys.executable, "-m", "mom.platform.cli", "serve", "--workers", str(args.workers),
                           "--port", str(port)], {"MOM_DATABASE_URL": url, "MOM_DATA_DIR": str(tmp / "data")}, port)
        base = f"http://127.0.0.1:{port}"
        u = urlsplit(base)
        try:
            t = time.perf_counter()
            tasks = release_orders(base, tokens["admin"], args.orders, args.qty)
            setup_s = round(time.perf_counter() - t, 1)

            def reports(tag: str, n: int) -> list[bytes]:
                return [_request(u, "/api/production/reports", tokens["bench"],
                                 {"task": tasks[i % len(tasks)], "event": "report", "good_qty": 1,
                                  "client_id": f"{tag}-{i:06d}"}) for i in range(n)]

            def creates(tag: str, n: int) -> list[bytes]:
                return [_request(u, "/api/records/scrap_reason", tokens["bench"],
                                 {"code": f"{tag}{i:06d}", "name": f"基准原因 {i}", "category": "process"}) for i in range(n)]

            drive(base, reports("warm", 200), args.clients)          # warm both paths on both workers
            drive(base, creates("W", 200), args.clients)
            spent = {"reports": 0.0, "creates": 0.0}
            per_round: list[dict[str, int]] = []
            for r in range(args.rounds):
                order = ("reports", "creates") if r % 2 == 0 else ("creates", "reports")
                row = {}
                for side in order:
                    reqs = reports(f"r{r}", args.n) if side == "reports" else creates(f"C{r}", args.n)
                    rate = drive(base, reqs, args.clients)
                    spent[side] += args.n / rate
                    row[side] = round(rate)
                per_round.append(row)
                print(f"  round {r + 1}: {row}", file=sys.stderr)
            rate = {side: round(args.rounds * args.n / s) for side, s in spent.items()}
            ops = tokens["operators"]
            # the burst: operator i reports on task i (one scanner each; tasks beyond the orders wrap)
            spread = burst(base, [_request(u, "/api/production/reports", tok, {"task": tasks[i % len(tasks)], "event": "report",
                                                                               "good_qty": 1, "client_id": f"burst-{i:04d}"})
                                  for i, tok in enumerate(ops)], 10.0)
            at_once = burst(base, [_request(u, "/api/production/reports", tok, {"task": tasks[i % len(tasks)], "event": "report",
                                                                                "good_qty": 1, "client_id": f"once-{i:04d}"})
                                   for i, tok in enumerate(ops)], 0.0)
        finally:
            fb.stop(server)
        return {"bench": "job reports over HTTP", "db": "postgresql", "workers": args.workers, "clients": args.clients,
                "orders": args.orders, "order_qty": args.qty, "load_average": [round(x, 1) for x in os.getloadavg()], "tasks": 4 * args.orders, "setup_create_and_release_s": setup_s,
                "per_s": rate, "ratio_reports_to_create": round(rate["reports"] / rate["creates"], 2), "rounds": per_round,
                "burst_over_10s_ms": {"n": len(spread), "p50": _p(spread, 0.5), "p95": _p(spread, 0.95), "max": round(max(spread), 1)},
                "burst_at_once_ms": {"n": len(at_once), "p50": _p(at_once, 0.5), "p95": _p(at_once, 0.95),
                                     "max": round(max(at_once), 1)},
                "targets": {"reports_ge_300_per_s": rate["reports"] >= 300,
                            "ratio_ge_0.4": rate["reports"] / rate["creates"] >= 0.4,
                            "burst_p95_le_200ms": _p(spread, 0.95) <= 200}}
    finally:
        _drop([f"bench_{name}"])


# ---------------------------------------------------------------- (c) the same in-process


def bench_inprocess(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """``reports.report`` in a write transaction of its own against a plain create of ``scrap_reason``
    (``records.service.create_records``), without HTTP: wall and CPU ms and SQL statements per call
    (a ``before_cursor_execute`` listener), rounds alternating. ``--orders`` orders of ``--qty``."""
    import datetime as dt

    import sqlalchemy as sa

    from mom.engines.packs import manager
    from mom.engines.production import release, reports
    from mom.engines.records import service
    from mom.engines.records.context import Ctx, actor_by_username
    from mom.platform.auth import service as auth
    from mom.platform.composition import form_registry
    from mom.platform.db.engine import make_engine, write_tx
    from mom.platform.db.migrate import upgrade

    name = f"prod_{TAG}_inproc"
    eng = make_engine(fb.db_url(args.db, tmp, name))
    backends: set[int] = set()      # PostgreSQL: the server processes of this engine's connections

    @sa.event.listens_for(eng, "connect")
    def _backend(dbapi_conn: Any, _rec: Any) -> None:
        if args.db == "postgresql":
            cur = dbapi_conn.cursor()
            cur.execute("SELECT pg_backend_pid()")
            backends.add(int(cur.fetchone()[0]))
            cur.close()
    try:
        upgrade(eng)
        manager.execute(eng, None, "install", str(CORE), forms_factory=form_registry, demo=True)
        forms = form_registry()
        with write_tx(eng) as conn:
            auth.create_user(conn, username="b_admin", is_admin=True)
            auth.create_user(conn, username="bench", roles=["operator", "planner"])
        with write_tx(eng) as conn:
            admin, bench = actor_by_username(conn, "b_admin"), actor_by_username(conn, "bench")
            valve = conn.execute(sa.text("SELECT id FROM item WHERE code = 'FG-V50'")).scalar_one()

        def ctx(actor: Any) -> Ctx:
            return Ctx(actor=actor, now=dt.datetime.now(dt.timezone.utc))

        tasks = []
        for _ in range(args.orders):
            with write_tx(eng) as conn:
                order = service.create_records(conn=conn, registry=forms, ctx=ctx(admin), form="production_order",
                                               docs=[{"item": valve, "qty": args.qty, "due_date": "2026-12-31T17:00:00+08:00"}])[0]
                released = release.release(conn, forms, ctx(admin), order["id"])
                tasks.append(next(t["code"] for t in released["tasks"] if t["status"] == "ready"))
        count = [0]
        sa.event.listen(eng, "before_cursor_execute", lambda *a, **k: count.__setitem__(0, count[0] + 1))

        def report(i: int, tag: str) -> None:
            with write_tx(eng) as conn:
                reports.report(conn, forms, ctx(bench), {"task": tasks[i % len(tasks)], "event": "report", "good_qty": 1,
                                                         "client_id": f"{tag}-{i:06d}"})

        def create(i: int, tag: str) -> None:
            with write_tx(eng) as conn:
                service.create_records(conn=conn, registry=forms, ctx=ctx(bench), form="scrap_reason",
                                       docs=[{"code": f"{tag}{i:06d}", "name": f"基准原因 {i}", "category": "process"}])

        def run(fn: Any, tag: str) -> tuple[float, float, float, float]:
            count[0] = 0
            db0 = _server_cpu(backends)
            t = _now()
            for i in range(args.n):
                fn(i, tag)
            wall, cpu = _since(t)
            db = _server_cpu(backends) - db0
            return wall / args.n * 1000, cpu / args.n * 1000, count[0] / args.n, db / args.n * 1000

        run(report, "warm"), run(create, "W")
        sides: dict[str, list[tuple[float, float, float, float]]] = {"reports": [], "creates": []}
        for r in range(args.rounds):
            for side in (("reports", "creates") if r % 2 == 0 else ("creates", "reports")):
                sides[side].append(run(report if side == "reports" else create, f"{side[0]}{r}"))
        med = {side: [round(statistics.median(x[k] for x in v), 2) for k in range(4)] for side, v in sides.items()}
        out = {"bench": "job reports in-process", "db": args.db, "n": args.n, "rounds": args.rounds, "orders": args.orders,
               "order_qty": args.qty, "load_average": [round(x, 1) for x in os.getloadavg()],
               "per_call_median": {side: dict(zip(("wall_ms", "cpu_ms", "statements", "server_cpu_ms"), m))
                                   for side, m in med.items()},
               "ratio_create_to_report_cpu": round(med["creates"][1] / med["reports"][1], 2)}
        if args.db == "postgresql" and med["reports"][3] > 0:
            # both processes' CPU: what two shared cores spend on a call over HTTP (less the HTTP layer's own)
            out["ratio_create_to_report_cpu_with_server"] = round(
                (med["creates"][1] + med["creates"][3]) / (med["reports"][1] + med["reports"][3]), 2)
        return out
    finally:
        eng.dispose()
        if args.db == "postgresql":
            _drop([f"bench_{name}"])


def _server_cpu(pids: set[int]) -> float:
    """CPU seconds (user + system) the PostgreSQL server processes ``pids`` have used so far (local server:
    read from /proc; 0 where it cannot be read)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])      # utime, stime (fields 14 and 15 of stat)
    return total / tick


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["install", "reports", "inprocess"])
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default=None,
                    help="install: which databases (both); inprocess: which database (postgresql)")
    ap.add_argument("--pg", default=None, help="PostgreSQL URL (default MOM_BENCH_PG)")
    ap.add_argument("--rounds", type=int, default=None, help="install: 3; reports: 4")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--n", type=int, default=1500, help="requests per round and side")
    ap.add_argument("--orders", type=int, default=300)
    ap.add_argument("--operators", type=int, default=200)
    ap.add_argument("--qty", type=int, default=1000, help="reports: each order's quantity (its expected finish is "
                    "counted through the calendars from the work left, so a larger order costs each report more)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--pack", default=None, help="the core pack's folder (default modelpacks/core)")
    args = ap.parse_args()
    if args.pack:
        global CORE
        CORE = Path(args.pack).resolve()
    if args.pg:
        fb.PG = args.pg
    with tempfile.TemporaryDirectory(prefix="mom-production-bench-") as t:
        tmp = Path(t)
        os.environ["MOM_DATA_DIR"] = str(tmp / "data")
        os.environ.pop("MOM_PACK_PATH", None)
        if args.what == "install":
            args.rounds, args.db = args.rounds or 3, args.db or "both"
            res = bench_install(args, tmp)
        elif args.what == "inprocess":
            args.rounds, args.db = args.rounds or 2, args.db or "postgresql"
            if args.db == "both":
                raise SystemExit("inprocess: --db postgresql or --db sqlite")
            args.n = args.n if args.n != 1500 else 200
            args.orders = args.orders if args.orders != 300 else 20
            res = bench_inprocess(args, tmp)
        else:
            args.rounds = args.rounds or 4
            res = bench_reports(args, tmp)
    print(json.dumps(res, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
