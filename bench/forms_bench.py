"""Benchmarks of the form engine (issue 2). Every figure is a ratio against a baseline measured in
the same run, or an absolute target checked on this machine. See docs/benchmarks.md.

    python bench/forms_bench.py create  [--db sqlite|postgresql] [--n 3000] [--clients 8] [--workers 1] [--client lean|httpx] [--rounds 4]
    python bench/forms_bench.py import  [--db ...] [--rows 100000] [--import-memory BYTES]
    python bench/forms_bench.py list    [--db ...] [--rows 1000000]
    python bench/forms_bench.py addfield [--rows 1000000]        (PostgreSQL)
    python bench/forms_bench.py idle
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
PG = os.environ.get("MOM_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FORM = {"format": "mom.form/1", "name": "bench_inspection", "fields": [
    {"id": "a", "key": "lot_no", "type": "text", "max_length": 40, "required": True},
    {"id": "b", "key": "qty", "type": "decimal", "precision": 12, "scale": 3, "min": 0, "required": True},
    {"id": "c", "key": "result", "type": "select", "options": ["pass", "fail", "concession"]},
    {"id": "d", "key": "inspected_on", "type": "date"},
    {"id": "e", "key": "remarks", "type": "long_text"},
    {"id": "f", "key": "passed", "type": "boolean"}],
    "indexes": [["result", "qty"]]}


def db_url(kind: str, tmp: Path, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp / (name + '.sqlite3')}"
    schema = f"bench_{name}"
    eng = sa.create_engine(PG)
    with eng.begin() as c:
        c.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    eng.dispose()
    return f"{PG}?options=-csearch_path%3D{schema}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    """A server in a process group of its own (uvicorn --workers N has children), see :func:`stop`."""
    p = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/docs", timeout=0.5)
            return p
        except httpx.HTTPError:
            time.sleep(0.1)
    stop(p)
    raise SystemExit(f"server did not start: {cmd}")


def stop(p: subprocess.Popen) -> None:
    """Kill a server and every worker process it started (they hold database connections)."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()


def setup_platform(url: str, data: Path) -> str:
    from mom.engines.forms import store
    from mom.platform.auth import service as auth
    from mom.platform.db.engine import make_engine, write_tx
    from mom.platform.db.migrate import upgrade

    eng = make_engine(url)
    upgrade(eng)
    with write_tx(eng) as conn:
        store.publish(conn, FORM)
        uid = auth.create_user(conn, username="bench", password="bench-pass-1", is_admin=True)
        token = auth.issue_token(conn, uid, kind="api", name="bench")["access_token"]
    eng.dispose()
    return token


def body(i: int) -> dict:
    return {"lot_no": f"L{i:07d}", "qty": round(random.uniform(1, 5000), 3), "result": random.choice(["pass", "fail", "concession"]),
            "inspected_on": "2026-11-21", "remarks": "外观良好" if i % 3 else None, "passed": bool(i % 2)}


def drive_lean(url: str, n: int, clients: int, headers: dict) -> float:
    """Like :func:`drive`, with a load generator that costs the server's machine as little as possible:
    one asyncio loop, ``clients`` keep-alive connections, requests encoded before the clock starts.
    (This machine has two cores; a threaded Python client takes a large share of one of them.)"""
    import asyncio
    from urllib.parse import urlsplit

    u = urlsplit(url)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    reqs = []
    for i in range(n):
        b = json.dumps(body(i), ensure_ascii=False).encode()
        reqs.append(f"POST {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\n{head}Content-Type: application/json\r\n"
                    f"Content-Length: {len(b)}\r\n\r\n".encode() + b)

    async def one(k: int) -> None:
        r, w = await asyncio.open_connection(u.hostname, u.port)
        for i in range(k, n, clients):
            w.write(reqs[i])
            status = await r.readline()
            assert b" 201 " in status, status
            length = 0
            while (line := await r.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await r.readexactly(length)
        w.close()

    async def all_() -> float:
        t = time.perf_counter()
        await asyncio.gather(*(one(k) for k in range(clients)))
        return n / (time.perf_counter() - t)

    return asyncio.run(all_())


def drive(url: str, n: int, clients: int, headers: dict) -> float:
    def worker(k: int) -> None:
        with httpx.Client(headers=headers, timeout=30) as c:
            for i in range(k, n, clients):
                r = c.post(url, json=body(i))
                assert r.status_code == 201, r.text
    t = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return n / (time.perf_counter() - t)


def start_servers(ours_url: str, base_url: str, tmp: Path, workers: int = 1) -> tuple[subprocess.Popen, subprocess.Popen, int, int]:
    """The platform and the hand-written baseline, each on its own database, each with ``workers``
    uvicorn processes (what `mom serve --workers N` runs)."""
    p1, p2 = free_port(), free_port()
    uv = [sys.executable, "-m", "uvicorn", "--log-level", "warning", "--host", "127.0.0.1", "--workers", str(workers)]
    factory = "create_app" if workers == 1 else "create_served_app"
    ours = start(uv + ["--factory", f"mom.platform.api.app:{factory}", "--port", str(p1)],
                 {"MOM_DATABASE_URL": ours_url, "MOM_DATA_DIR": str(tmp)}, p1)
    base = start(uv + ["--app-dir", str(ROOT / "bench"), "baseline_app:app", "--port", str(p2)], {"BASELINE_DB": base_url}, p2)
    return ours, base, p1, p2


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) used so far by every live process of the process group ``pgid``
    (a server and its uvicorn workers): a figure the other programs on a shared machine hardly move."""
    total, tick = 0, os.sysconf("SC_CLK_TCK")
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:   # pgrp; utime, stime follow at 11, 12
            total += int(fields[11]) + int(fields[12])
    return total / tick


def bench_create(args: argparse.Namespace, tmp: Path) -> dict:
    ours_url, base_url = db_url(args.db, tmp, "ours"), db_url(args.db, tmp, "base")
    token = setup_platform(ours_url, tmp)
    ours, base, p1, p2 = start_servers(ours_url, base_url, tmp, args.workers)
    try:
        res = {}
        drive = drive_lean if args.client == "lean" else globals()["drive"]
        for clients in (1, args.clients):
            drive(f"http://127.0.0.1:{p1}/api/records/bench_inspection", 200, clients, {"Authorization": f"Bearer {token}"})
            drive(f"http://127.0.0.1:{p2}/baseline", 200, clients, {})
            # interleaved rounds (ours, baseline, baseline, ours, …) so that a slow spell of this noisy
            # machine falls on both sides; the figure is each side's total creates over its total time
            # the server's CPU seconds per create are measured too (its process group, from /proc): on a
            # loaded machine wall-clock rates swing with the neighbours, CPU per create much less
            rounds, per = args.rounds, max(1, args.n // args.rounds)
            ta = tb = ca = cb = 0.0
            for r in range(rounds):
                order = ("a", "b") if r % 2 == 0 else ("b", "a")
                for side in order:
                    if side == "a":
                        c0 = group_cpu(ours.pid)
                        ta += per / drive(f"http://127.0.0.1:{p1}/api/records/bench_inspection", per, clients, {"Authorization": f"Bearer {token}"})
                        ca += group_cpu(ours.pid) - c0
                    else:
                        c0 = group_cpu(base.pid)
                        tb += per / drive(f"http://127.0.0.1:{p2}/baseline", per, clients, {})
                        cb += group_cpu(base.pid) - c0
            a, b = rounds * per / ta, rounds * per / tb
            res[f"{clients}_clients"] = {"platform_per_s": round(a), "baseline_per_s": round(b), "ratio": round(a / b, 2),
                                         "platform_cpu_us": round(ca / (rounds * per) * 1e6),
                                         "baseline_cpu_us": round(cb / (rounds * per) * 1e6),
                                         "cpu_ratio": round(cb / ca, 2) if ca else None}
        return res
    finally:
        stop(ours)
        stop(base)


def make_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["lot_no", "qty", "result", "inspected_on", "remarks", "passed"])
        for i in range(rows):
            b = body(i)
            w.writerow([b["lot_no"], b["qty"], b["result"], b["inspected_on"], b["remarks"] or "", "1" if b["passed"] else "0"])


def bench_import(args: argparse.Namespace, tmp: Path) -> dict:
    from mom.engines.forms.store import FormRegistry
    from mom.engines.records import transfer
    from mom.engines.records.context import SYSTEM, Ctx
    from mom.platform.db.engine import make_engine, write_tx

    out = {}
    for rows in (args.rows // 5, args.rows):
        path = tmp / f"rows{rows}.csv"
        make_csv(path, rows)
        url = db_url(args.db, tmp, f"imp{rows}")
        setup_platform(url, tmp)
        eng = make_engine(url)

        def run(trace: bool) -> float:
            if trace:
                tracemalloc.start()
            t = time.perf_counter()
            with path.open("rb") as fh:   # read and checked outside the write lock, then written in one transaction
                res = transfer.import_records(engine=eng, registry=FormRegistry(), ctx=Ctx(actor=SYSTEM, now=dt.datetime.now(dt.timezone.utc)),
                                              form="bench_inspection", stream=fh, fmt="csv", mode="skip" if trace else "all",
                                              limits=transfer.TableLimits(memory_bytes=args.import_memory))
                assert res["created"] == rows, res
            took = time.perf_counter() - t
            if trace:  # the memory pass leaves nothing behind
                with write_tx(eng) as conn:
                    conn.execute(sa.text("DELETE FROM bench_inspection"))
            return took

        ours = run(False)
        with eng.begin() as c:
            c.execute(sa.text("DELETE FROM bench_inspection"))
        run(True)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        # baseline: the same rows parsed and inserted with one raw executemany, into a table with the
        # same columns and the same declared index
        md = sa.MetaData()
        raw = sa.Table("raw_rows", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("lot_no", sa.String(40)),
                       sa.Column("qty", sa.Numeric(12, 3)), sa.Column("result", sa.String(64)), sa.Column("inspected_on", sa.Date),
                       sa.Column("remarks", sa.Text), sa.Column("passed", sa.Boolean),
                       sa.Index("ix_raw_rows_result_qty", "result", "qty"))  # the index the form declares
        md.create_all(eng)
        t = time.perf_counter()
        with path.open(encoding="utf-8") as fh, write_tx(eng) as conn:
            r = csv.reader(fh)
            next(r)
            params = [{"lot_no": a, "qty": b, "result": c, "inspected_on": dt.date.fromisoformat(d), "remarks": e or None, "passed": f == "1"}
                      for a, b, c, d, e, f in r]
            conn.execute(raw.insert(), params)
        base = time.perf_counter() - t
        eng.dispose()
        out[f"{rows}_rows"] = {"platform_s": round(ours, 2), "raw_executemany_s": round(base, 2), "ratio": round(ours / base, 2),
                               "rows_per_s": round(rows / ours), "peak_python_mib": round(peak / 2**20, 1)}
    return out


def fill(eng: sa.engine.Engine, rows: int) -> None:
    t = sa.Table("bench_inspection", sa.MetaData(), autoload_with=eng)
    now = dt.datetime.now(dt.timezone.utc)
    now_v = now.replace(tzinfo=None) if eng.dialect.name == "sqlite" else now
    batch = 20000
    for start_ in range(0, rows, batch):
        with eng.begin() as conn:
            conn.execute(t.insert(), [{"row_version": 1, "form_version": 1, "created_at": now_v, "updated_at": now_v,
                                       "lot_no": f"L{i:07d}", "qty": random.randint(1, 5_000_000) / 1000,
                                       "result": random.choice(["pass", "fail", "concession"]), "passed": i % 2 == 0}
                                      for i in range(start_, min(rows, start_ + batch))])


def bench_list(args: argparse.Namespace, tmp: Path) -> dict:
    from mom.engines.forms.store import FormRegistry
    from mom.engines.records.context import SYSTEM, Ctx
    from mom.engines.records.query import Filter, list_records
    from mom.platform.db.engine import make_engine, read_tx

    url = db_url(args.db, tmp, "list")
    setup_platform(url, tmp)
    eng = make_engine(url)
    fill(eng, args.rows)
    if eng.dialect.name == "postgresql":
        with eng.begin() as c:
            c.exec_driver_sql("ANALYZE bench_inspection")
    reg, ctx = FormRegistry(), Ctx(actor=SYSTEM, now=dt.datetime.now(dt.timezone.utc))
    times, deep = [], []
    for i in range(120):
        flt = [Filter("result", "eq", random.choice(["pass", "fail", "concession"])), Filter("qty", "gt", random.randint(0, 4000))]
        t = time.perf_counter()
        with read_tx(eng) as conn:
            page = list_records(conn=conn, registry=reg, ctx=ctx, form="bench_inspection", filters=flt, sort="-qty", limit=50)
        times.append(time.perf_counter() - t)
        if i % 10 == 0 and page["next"]:
            t = time.perf_counter()
            with read_tx(eng) as conn:
                list_records(conn=conn, registry=reg, ctx=ctx, form="bench_inspection", filters=flt, sort="-qty", limit=50, after=page["next"])
            deep.append(time.perf_counter() - t)
    eng.dispose()
    q = lambda xs: round(statistics.quantiles(xs, n=20)[18] * 1000, 1)  # noqa: E731
    return {"rows": args.rows, "first_page_p95_ms": q(times[20:]), "next_page_p95_ms": q(deep) if len(deep) > 2 else None,
            "median_ms": round(statistics.median(times) * 1000, 1)}


def bench_addfield(args: argparse.Namespace, tmp: Path) -> dict:
    from mom.engines.forms import store
    from mom.platform.db.engine import make_engine, write_tx

    args.db = "postgresql"
    url = db_url("postgresql", tmp, "addfield")
    setup_platform(url, tmp)
    eng = make_engine(url)
    fill(eng, args.rows)
    form = json.loads(json.dumps(FORM))
    form["fields"].append({"id": "g", "key": "inspector_note", "type": "text"})
    t = time.perf_counter()
    with write_tx(eng) as conn:
        plan, _ = store.publish(conn, form)
    took = time.perf_counter() - t
    with eng.connect() as c:
        n = c.execute(sa.text("select count(*) from bench_inspection")).scalar()
    eng.dispose()
    return {"rows": n, "publish_s": round(took, 3), "operations": [o.kind for o in plan.operations]}


def bench_idle(args: argparse.Namespace, tmp: Path) -> dict:
    url = db_url("sqlite", tmp, "idle")
    setup_platform(url, tmp)
    port = free_port()
    p = start([sys.executable, "-m", "uvicorn", "--log-level", "warning", "--factory", "mom.platform.api.app:create_app",
               "--host", "127.0.0.1", "--port", str(port)], {"MOM_DATABASE_URL": url, "MOM_DATA_DIR": str(tmp)}, port)
    try:
        for _ in range(20):
            httpx.get(f"http://127.0.0.1:{port}/api/health")
        time.sleep(2)
        rss = next(int(l.split()[1]) for l in Path(f"/proc/{p.pid}/status").read_text().splitlines() if l.startswith("VmRSS"))
        return {"idle_rss_mib": round(rss / 1024, 1)}
    finally:
        stop(p)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["create", "import", "list", "addfield", "idle"])
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1, help="create: uvicorn processes on each side (mom serve --workers)")
    ap.add_argument("--client", choices=["lean", "httpx"], default="lean",
                    help="create: the load generator (lean: asyncio keep-alive connections; httpx: one thread per client)")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=4, help="create: interleaved rounds per side (more: fairer on a busy machine)")
    ap.add_argument("--import-memory", type=int, default=256 * 2**20,
                    help="import: MOM_IMPORT_MEMORY_BYTES (checked rows kept in memory; 0: all in a temporary file)")
    args = ap.parse_args()
    args.rows = args.rows or {"import": 100_000, "list": 1_000_000, "addfield": 1_000_000}.get(args.what, 0)
    random.seed(7)
    with tempfile.TemporaryDirectory() as d:
        res = globals()[f"bench_{args.what}"](args, Path(d))
    print(json.dumps({"bench": args.what, "db": args.db, **res}, ensure_ascii=False))


if __name__ == "__main__":
    main()
