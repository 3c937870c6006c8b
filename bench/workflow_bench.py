"""Workflow engine benchmark (issue 3): approval instances of three nodes, started and completed
through the HTTP API by concurrent clients; actions per second, p95 latency, and the outbox drain
rate. The baseline is the hand-written insert endpoint (bench/baseline_app.py) in the same run.

    python bench/workflow_bench.py [--db sqlite|postgresql] [--n 10000] [--clients 8] [--workers 1]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forms_bench import db_url, drive, start_servers, stop  # noqa: E402

FORM = {"format": "mom.form/1", "name": "bench_request", "fields": [
    {"id": "a", "key": "title", "type": "text", "max_length": 100, "required": True},
    {"id": "b", "key": "amount", "type": "decimal", "scale": 2},
    {"id": "c", "key": "result", "type": "text", "max_length": 20}],
    "permissions": [{"role": "*", "actions": ["create", "read", "update"]}]}
FLOW = {"format": "mom.workflow/1", "name": "bench_flow", "form": "bench_request", "nodes": [
    {"id": f"n{i}", "type": "approval", "assignees": [{"type": "user", "users": [f"u{i}"]}]} for i in (1, 2, 3)]}
RULE = {"format": "mom.rule/1", "name": "bench_done", "on": {"event": "workflow.finished", "workflow": "bench_flow"},
        "actions": [{"type": "update_record", "form": "bench_request", "record_id": "event['record_id']",
                     "values": {"result": "event['outcome']"}}]}


def setup(url: str) -> dict[str, str]:
    """The form, four users with API tokens, the three-node flow and the write-back rule; returns the tokens."""
    from mom.engines.forms import store
    from mom.engines.workflow import rules, store as flows
    from mom.platform.composition import form_registry as registry
    from mom.platform.auth import service as auth
    from mom.platform.db.engine import make_engine, write_tx
    from mom.platform.db.migrate import upgrade
    import datetime as dt

    eng = make_engine(url)
    upgrade(eng)
    tokens = {}
    with write_tx(eng) as conn:
        store.publish(conn, FORM)
        for u in ("starter", "u1", "u2", "u3"):
            uid = auth.create_user(conn, username=u, password="bench-pass-1", is_admin=(u == "starter"))
            tokens[u] = auth.issue_token(conn, uid, kind="api", name="bench")["access_token"]
        forms = registry()
        flows.apply(conn, forms, FLOW)
        rules.apply_rule(conn, forms, RULE, now=dt.datetime.now(dt.timezone.utc), tz=dt.timezone.utc)
    eng.dispose()
    return tokens


def run(base: str, tokens: dict[str, str], n: int, clients: int) -> dict:
    lat: dict[str, list[float]] = {"create": [], "start": [], "approve": []}
    lock = threading.Lock()

    def timed(c: httpx.Client, kind: str, method: str, url: str, **kw) -> dict:  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        r = c.request(method, url, **kw)
        dt_ = time.perf_counter() - t
        assert r.status_code in (200, 201), r.text
        with lock:
            lat[kind].append(dt_)
        return r.json()

    def worker(k: int) -> None:
        cs = {u: httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tok}"}, timeout=60) for u, tok in tokens.items()}
        try:
            for i in range(k, n, clients):
                rec = timed(cs["starter"], "create", "POST", "/api/records/bench_request", json={"title": f"R{i}", "amount": i})
                inst = timed(cs["starter"], "start", "POST", "/api/workflows/bench_flow/start", json={"record_id": rec["id"]})
                for node in (1, 2, 3):
                    task = inst["open_tasks"][0]
                    inst = timed(cs[f"u{node}"], "approve", "POST", f"/api/tasks/{task['id']}/approve", json={"comment": "ok"})["instance"]
                assert inst["status"] == "approved"
        finally:
            for c in cs.values():
                c.close()

    t = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    wall = time.perf_counter() - t
    actions = len(lat["start"]) + len(lat["approve"])
    p95 = lambda xs: round(statistics.quantiles(xs, n=100)[94] * 1000, 1)  # noqa: E731
    return {"instances": n, "wall_s": round(wall, 1), "workflow_actions": actions,
            "workflow_actions_per_s": round(actions / wall), "approve_per_s": round(len(lat["approve"]) / wall),
            "p95_ms": {k: p95(v) for k, v in lat.items()}, "p50_ms": {k: round(statistics.median(v) * 1000, 1) for k, v in lat.items()}}


def drain(url: str, tmp: Path) -> dict:
    from mom.platform.db.engine import make_engine
    from mom.platform.settings import Settings
    from mom.platform.worker import Worker
    from mom.platform import outbox

    eng = make_engine(url)
    with eng.connect() as conn:
        before = outbox.stats(conn)
    w = Worker(eng, Settings(database_url=url, data_dir=tmp, worker_batch=200), name="bench")
    t = time.perf_counter()
    got = w.drain(max_rounds=100000)
    wall = time.perf_counter() - t
    with eng.connect() as conn:
        after = outbox.stats(conn)
    eng.dispose()
    return {"events": got["events"], "failed": got["failed"], "events_per_s": round(got["events"] / wall), "pending_before": before["pending"],
            "pending_after": after["pending"], "dead": after["dead"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1, help="uvicorn processes on each side (mom serve --workers)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        ours_url, base_url = db_url(args.db, tmp, "wf"), db_url(args.db, tmp, "wfbase")
        tokens = setup(ours_url)
        ours, base, p1, p2 = start_servers(ours_url, base_url, tmp, args.workers)
        try:
            res = run(f"http://127.0.0.1:{p1}", tokens, args.n, args.clients)
            baseline = drive(f"http://127.0.0.1:{p2}/baseline", 3000, args.clients, {})
        finally:
            stop(ours)
            stop(base)
        res["baseline_insert_per_s"] = round(baseline)
        res["ratio_actions_to_baseline_inserts"] = round(res["workflow_actions_per_s"] / baseline, 2)
        res["outbox_drain"] = drain(ours_url, tmp)
    print(json.dumps({"bench": "workflow", "db": args.db, "clients": args.clients, "workers": args.workers, **res}, ensure_ascii=False))


if __name__ == "__main__":
    main()
