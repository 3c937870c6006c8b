"""Report engine benchmark (issue 4): a 30-day, day-bucketed aggregate on a large form.

    python bench/report_bench.py [--db sqlite|postgresql] [--rows 10000000] [--reps 20] [--preaggregate]

Figures (docs/benchmarks.md):
  * compiled report (build + guard + execute + shape, through engines.reports.run.execute) vs the
    hand-written SQL of the same query run directly on the same connection, same run, alternating,
    random 30-day windows: ratio of medians and of p95 (target <= 1.2);
  * p95 of the compiled report on the large form (target <= 1 s at 10M rows), using the index the
    report definition asks for (``indexes: [["measured_at", "passed", "value"]]``: the date range
    first, then the columns the measures read, so SQLite answers from the index alone);
  * the scan guard: the same report without a date filter is refused (estimate first) instead of
    scanning every row.
Rows are generated inside the database (generate_series / a recursive CTE), spread over two years.
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

ROOT = Path(__file__).resolve().parents[1]
PG = os.environ.get("MOM_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FORM = {"format": "mom.form/1", "name": "bench_measure", "fields": [
    {"id": "a", "key": "line", "type": "select", "options": ["L1", "L2", "L3", "L4"]},
    {"id": "b", "key": "station", "type": "text", "max_length": 20},
    {"id": "c", "key": "value", "type": "decimal", "precision": 12, "scale": 4},
    {"id": "d", "key": "passed", "type": "boolean"},
    {"id": "e", "key": "measured_at", "type": "datetime"}],
    "permissions": [{"role": "*", "actions": ["read"]}]}
REPORT = {"format": "mom.report/1", "name": "bench_daily", "source": "bench_measure",
          "params": [{"key": "period", "type": "date_range", "required": True}],
          "filters": [{"field": "measured_at", "op": "between", "param": "period"}],
          "dimensions": [{"key": "day", "field": "measured_at", "bucket": "day"}],
          "measures": [{"key": "n", "agg": "count"}, {"key": "failed", "agg": "count", "where": "not passed"},
                       {"key": "avg_value", "agg": "avg", "field": "value"},
                       {"key": "fail_rate", "ratio": ["failed", "n"]}],
          "indexes": [["measured_at", "passed", "value"]], "max_scan_rows": 3_000_000}
DAYS = 730
START = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)


def hand_sql(dialect: str) -> str:
    """What an engineer would write by hand for the same numbers (plant zone UTC+8)."""
    if dialect == "sqlite":
        day = "strftime('%Y-%m-%d', datetime(measured_at, '+480 minutes'))"
        return (f"SELECT {day} AS day, count(*) AS n, count(CASE WHEN NOT passed THEN 1 END) AS failed, avg(value) AS avg_value, "
                f"count(CASE WHEN NOT passed THEN 1 END) * 1.0 / nullif(count(*), 0) AS fail_rate "
                f"FROM bench_measure WHERE deleted_at IS NULL AND measured_at >= :lo AND measured_at < :hi "
                f"GROUP BY {day} ORDER BY {day}")
    day = "to_char(timezone('UTC', measured_at) + interval '480 minutes', 'YYYY-MM-DD')"
    return (f"SELECT {day} AS day, count(*) AS n, count(CASE WHEN NOT passed THEN 1 END) AS failed, avg(value) AS avg_value, "
            f"count(CASE WHEN NOT passed THEN 1 END) * 1.0 / nullif(count(*), 0) AS fail_rate "
            f"FROM bench_measure WHERE deleted_at IS NULL AND measured_at >= :lo AND measured_at < :hi "
            f"GROUP BY {day} ORDER BY {day}")


def fill(engine: sa.engine.Engine, rows: int) -> None:
    secs = DAYS * 86400
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "INSERT INTO bench_measure (row_version, form_version, created_at, updated_at, line, station, value, passed, measured_at) "
                "SELECT 1, 1, now(), now(), (ARRAY['L1','L2','L3','L4'])[1 + (g %% 4)], 'S' || (g %% 50), "
                "round((10 + ((g::bigint * 7919) %% 1000) / 1000.0)::numeric, 4), (g %% 17) <> 0, "
                f"timestamptz '2025-01-01 00:00:00+00' + make_interval(secs => (g::bigint * {secs}) / {rows}) "
                f"FROM generate_series(1, {rows}) AS g")
            conn.exec_driver_sql("ANALYZE bench_measure")
        else:
            conn.exec_driver_sql(
                f"WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < {rows}) "
                "INSERT INTO bench_measure (row_version, form_version, created_at, updated_at, line, station, value, passed, measured_at) "
                "SELECT 1, 1, '2025-01-01 00:00:00', '2025-01-01 00:00:00', 'L' || (1 + x % 4), 'S' || (x % 50), "
                "round(10 + ((x * 7919) % 1000) / 1000.0, 4), (x % 17) <> 0, "
                f"datetime('2025-01-01 00:00:00', '+' || ((x * {secs}) / {rows}) || ' seconds') FROM g")
            conn.exec_driver_sql("ANALYZE")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--preaggregate", action="store_true", help="also measure the report declared preaggregate")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from mom.engines.forms.store import FormRegistry, publish
    from mom.engines.records.context import Ctx, SYSTEM
    from mom.engines.reports import run as runner
    from mom.engines.reports import service
    from mom.platform.db.engine import make_engine
    from mom.platform.db.migrate import upgrade
    from mom.platform.errors import InvalidInput
    from zoneinfo import ZoneInfo

    if args.db == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    else:
        with sa.create_engine(PG).begin() as c:
            c.exec_driver_sql("DROP SCHEMA IF EXISTS report_bench CASCADE")
            c.exec_driver_sql("CREATE SCHEMA report_bench")
        url = PG + ("&" if "?" in PG else "?") + "options=-csearch_path%3Dreport_bench"
    engine = make_engine(url)
    upgrade(engine)
    forms = FormRegistry()
    tz = ZoneInfo("Asia/Shanghai")
    with engine.begin() as conn:
        publish(conn, FORM)
    t0 = time.perf_counter()
    fill(engine, args.rows)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with engine.begin() as conn:
        service.apply(conn, forms, REPORT, now=dt.datetime.now(dt.timezone.utc), tz=tz, actor_id=None)  # creates the index
    index_s = time.perf_counter() - t0
    if args.db == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE bench_measure")
    rng = random.Random(7)
    ctx = Ctx(actor=SYSTEM, now=dt.datetime.now(dt.timezone.utc), tz=tz)
    hand = sa.text(hand_sql(engine.dialect.name))
    t_rep: list[float] = []
    t_hand: list[float] = []
    for i in range(args.reps + 2):
        first = (START + dt.timedelta(days=rng.randrange(0, DAYS - 31))).astimezone(tz).date()
        last = first + dt.timedelta(days=29)
        lo = dt.datetime.combine(first, dt.time(), tzinfo=tz).astimezone(dt.timezone.utc)
        hi = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz).astimezone(dt.timezone.utc)
        if args.db == "sqlite":
            lo, hi = lo.replace(tzinfo=None), hi.replace(tzinfo=None)
        order = [0, 1] if i % 2 == 0 else [1, 0]
        for which in order:
            with engine.connect() as conn:
                t = time.perf_counter()
                if which == 0:
                    res = runner.execute(conn, forms, ctx, REPORT, {"period": f"{first},{last}"})
                    n_rep = sum(r["n"] for r in res["rows"])
                else:
                    rows = conn.execute(hand, {"lo": lo, "hi": hi}).all()
                    n_hand = sum(r[1] for r in rows)
                el = time.perf_counter() - t
            if i >= 2:                                  # two warm-up rounds
                (t_rep if which == 0 else t_hand).append(el)
        assert n_rep == n_hand, (n_rep, n_hand)
    # the guard: no date filter on a table larger than max_scan_rows -> refused before scanning
    unbounded = dict(REPORT, params=[], filters=[])
    t = time.perf_counter()
    with engine.connect() as conn:
        try:
            runner.execute(conn, forms, ctx, unbounded, {})
            refused = False
        except InvalidInput:
            refused = True
    guard_ms = (time.perf_counter() - t) * 1000

    def p95(xs: list[float]) -> float:
        return sorted(xs)[max(0, int(round(0.95 * len(xs))) - 1)]

    med_r, med_h = statistics.median(t_rep), statistics.median(t_hand)
    print(f"db={args.db} rows={args.rows:,} load={load_s:.1f}s index={index_s:.1f}s rows/30d≈{n_rep:,}")
    print(f"compiled report: median {med_r * 1000:.1f} ms, p95 {p95(t_rep) * 1000:.1f} ms")
    print(f"hand-written SQL: median {med_h * 1000:.1f} ms, p95 {p95(t_hand) * 1000:.1f} ms")
    print(f"ratio compiled/hand: median {med_r / med_h:.2f}, p95 {p95(t_rep) / p95(t_hand):.2f}")
    print(f"unbounded report refused: {refused} (in {guard_ms:.1f} ms)")
    if args.preaggregate:
        preaggregate(engine, forms, ctx, tz, args, p95)


def preaggregate(engine: sa.engine.Engine, forms: Any, ctx: Any, tz: Any, args: argparse.Namespace, p95: Any) -> None:
    """The same report declared ``preaggregate``: build time, answer time from the summary vs from the
    source (same windows, same run, same numbers), and what a summary costs each single create."""
    from mom.engines.records import service as records
    from mom.engines.reports import service
    from mom.platform.composition import form_registry as registry
    from mom.platform.db.engine import write_tx

    forms = registry()                        # the platform's hooks keep the summary current
    pre = dict(REPORT, name="bench_daily_pre", preaggregate=True)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        out = service.apply(conn, forms, pre, now=dt.datetime.now(dt.timezone.utc), tz=tz, actor_id=None)
    build_s = time.perf_counter() - t0
    rng = random.Random(11)
    t_pre: list[float] = []
    t_src: list[float] = []
    for i in range(args.reps + 2):
        first = (START + dt.timedelta(days=rng.randrange(0, DAYS - 31))).astimezone(tz).date()
        period = {"period": f"{first},{first + dt.timedelta(days=29)}"}
        got = {}
        for name in (["bench_daily_pre", "bench_daily"] if i % 2 == 0 else ["bench_daily", "bench_daily_pre"]):
            with engine.connect() as conn:
                t = time.perf_counter()
                res = service.run(conn, forms, ctx, name, period)
                el = time.perf_counter() - t
            got[name] = [(r["day"], r["n"], r["failed"]) for r in res["rows"]]
            if name == "bench_daily_pre":
                assert res["preaggregated"], res.get("preaggregate_reason")
            if i >= 2:
                (t_pre if name == "bench_daily_pre" else t_src).append(el)
        assert got["bench_daily_pre"] == got["bench_daily"]

    def creates(n: int) -> float:
        t = time.perf_counter()
        for k in range(n):
            with write_tx(engine) as conn:
                records.create_records(conn=conn, registry=forms, ctx=ctx, form="bench_measure", docs=[
                    {"line": "L1", "station": "S1", "value": "10.5", "passed": k % 3 != 0,
                     "measured_at": (START + dt.timedelta(days=k % DAYS, hours=3)).isoformat()}])
        return (time.perf_counter() - t) / n

    with_summary = creates(200)
    with engine.begin() as conn:
        service.apply(conn, forms, dict(pre, preaggregate=False), now=dt.datetime.now(dt.timezone.utc), tz=tz, actor_id=None)
    without = creates(200)
    print(f"preaggregate: summary of {out['preaggregate']['rows']:,} rows built in {build_s:.1f}s")
    print(f"from the summary: median {statistics.median(t_pre) * 1000:.1f} ms, p95 {p95(t_pre) * 1000:.1f} ms; "
          f"from the source: median {statistics.median(t_src) * 1000:.1f} ms, p95 {p95(t_src) * 1000:.1f} ms; "
          f"ratio summary/source p95 {p95(t_pre) / p95(t_src):.3f}")
    print(f"one create: {with_summary * 1000:.2f} ms with the summary kept current vs {without * 1000:.2f} ms without "
          f"(ratio {with_summary / without:.2f})")


if __name__ == "__main__":
    main()
