"""OEE benchmark (issue 23, item 7): OEE for 100 machines × 90 days of state changes through the engine.

A plant with the core pack (its standard calendar 标准日历: Mon–Sat 08:00–12:00, 13:00–17:00) and the
equipment pack; ``--machines`` machines on ``--lines`` work centres; per machine a state change every 10–20
minutes (uniform) around the clock over ``--days`` days (running 70 %, idle 10 %, down 8 %, setup 7 %,
planned stop 5 %), the last state open; ``--counts`` adds one machine_count row per machine per hour. Rows
are written straight into the tables with bulk inserts (COPY on PostgreSQL).

Measured, interleaved, best of ``--rounds``: the engine's ``report.rows`` (group machine, the whole period:
calendars, states split at every shift edge, counts, KPIs, losses) against a baseline measured in the
same run: ``SELECT COUNT(*)`` of the same state rows (the least any answer over those rows costs), and
against reading every row (``reader.read``, the answer before the day summaries). ``report.rows`` is timed
cold (each round first drops the day summaries: the question computes and stores the closed days) and warm
(the summaries there: only the open last day is read row by row). Also group=day (warm) and the andon board
("now" is 18:00 on the last day). Target: OEE ≤ 1 s warm.

    python bench/oee_bench.py [--db sqlite|postgresql|both] [--machines 100] [--days 90] [--rounds 5] [--counts]

PostgreSQL: ``MOM_BENCH_PG`` (default postgresql+psycopg://postgres@127.0.0.1:5432/test), a schema made by
``forms_bench.db_url`` and dropped at the end.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
import forms_bench as fb  # noqa: E402

TAG = f"oee{os.getpid()}"
SH = ZoneInfo("Asia/Shanghai")
STATES = (("running", 70), ("idle", 10), ("down", 8), ("setup", 7), ("planned_stop", 5))


def plant(kind: str, tmp: Path) -> Any:
    from mom.engines.packs import manager
    from mom.platform.composition import form_registry
    from mom.platform.db.engine import make_engine
    from mom.platform.db.migrate import upgrade

    eng = make_engine(fb.db_url(kind, tmp, TAG))
    upgrade(eng)
    manager.execute(eng, None, "install", "core", forms_factory=form_registry, tz=SH)
    manager.execute(eng, None, "install", "equipment", forms_factory=form_registry, tz=SH)
    return eng


def generate(eng: Any, machines: int, lines: int, days: int, counts: bool, end: dt.datetime, seed: int = 23) -> dict[str, Any]:
    from mom.engines.records import service as S
    from mom.engines.records.context import Ctx
    from mom.platform.composition import form_registry
    from mom.platform.db.bulk import insert_many
    from mom.platform.db.engine import write_tx

    rnd = random.Random(seed)
    forms = form_registry()
    ctx = Ctx.system(tz=SH)
    with write_tx(eng) as conn:
        cal = conn.execute(sa.select(forms.get(conn, "work_calendar").main.c.id).limit(1)).scalar_one()
        wcs = [r["id"] for r in S.create_records(conn=conn, registry=forms, ctx=ctx, form="work_center", docs=[
            {"code": f"L{i:02d}", "name": f"产线 {i}", "units": 10, "calendar": cal} for i in range(lines)])]
        ms = [r["id"] for r in S.create_records(conn=conn, registry=forms, ctx=ctx, form="machine", docs=[
            {"code": f"M{i:03d}", "name": f"设备 {i}", "work_center": wcs[i % lines], "status": "idle"} for i in range(machines)])]
        f_state, f_count = forms.get(conn, "machine_state"), forms.get(conn, "machine_count")
    now = dt.datetime.now(dt.timezone.utc)
    sys_cols = {"created_at": now, "updated_at": now, "row_version": 1, "deleted_at": None}
    names = [s for s, _w in STATES]
    weights = [w for _s, w in STATES]
    start = end - dt.timedelta(days=days)
    pg = eng.dialect.name == "postgresql"
    n_states = n_counts = 0
    t0 = time.perf_counter()
    for mid in ms:
        rows, crows = [], []
        t = start
        while t < end:
            nxt = t + dt.timedelta(seconds=rnd.uniform(600, 1200))
            rows.append({"machine": mid, "state": rnd.choices(names, weights)[0], "started_at": t,
                         "ended_at": nxt if nxt < end else None,
                         "duration_s": Decimal(str(round((nxt - t).total_seconds(), 3))) if nxt < end else None,
                         "source": "simulator"})
            t = nxt
        if counts:
            h = start
            while h < end:
                total = rnd.randint(20, 60)
                scrap = rnd.randint(0, 2)
                crows.append({"machine": mid, "bucket_start": h, "total": Decimal(total), "good": Decimal(total - scrap),
                              "scrap": Decimal(scrap)})
                h += dt.timedelta(hours=1)
        with write_tx(eng) as conn:
            if pg:
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            insert_many(conn, f_state.main, rows, const={**sys_cols, "form_version": f_state.version})
            if crows:
                insert_many(conn, f_count.main, crows, const={**sys_cols, "form_version": f_count.version})
        n_states += len(rows)
        n_counts += len(crows)
    with eng.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return {"states": n_states, "counts": n_counts, "seconds": time.perf_counter() - t0, "start": start}


def measure(eng: Any, start: dt.datetime, end: dt.datetime, rounds: int) -> dict[str, tuple[float, float]]:
    from mom.engines.devices import forms as dforms
    from mom.engines.devices import machine_days
    from mom.engines.oee import andon, reader, report
    from mom.engines.records.context import SYSTEM, Ctx
    from mom.platform.composition import form_registry
    from mom.platform.db.engine import read_tx, write_tx

    forms = form_registry()
    ctx = Ctx(actor=SYSTEM, now=end - dt.timedelta(hours=6), tz=SH)   # 18:00 on the last day: the board has a today
    with read_tx(eng) as conn:
        t = dforms.require(conn, forms, dforms.STATE).main
    count = (sa.select(sa.func.count()).select_from(t)
             .where(t.c.deleted_at.is_(None), t.c.started_at < end, sa.or_(t.c.ended_at.is_(None), t.c.ended_at > start)))

    def baseline() -> Any:
        with read_tx(eng) as conn:
            return conn.execute(count).scalar()

    def by_machine() -> Any:
        with read_tx(eng) as conn:
            return report.rows(conn, forms, ctx, start, end, group="machine")

    def rows_machine() -> Any:         # row by row: every state, count and report read (the reader before issue 23's summary)
        with read_tx(eng) as conn:
            return reader.read(conn, forms, ctx, start, end)

    def forget_all() -> None:
        with write_tx(eng) as conn:
            conn.execute(machine_days.day_table.delete())

    def by_day() -> Any:
        with read_tx(eng) as conn:
            return report.rows(conn, forms, ctx, start, end, group="day")

    def board() -> Any:
        with read_tx(eng) as conn:
            return andon.board(conn, forms, ctx)

    best: dict[str, tuple[float, float]] = {}
    for _ in range(rounds):
        forget_all()                   # "cold": the first question after the summaries were dropped fills them
        for name, fn in (("baseline", baseline), ("rows", rows_machine), ("cold", by_machine), ("machine", by_machine),
                         ("day", by_day), ("andon", board)):
            w, c = time.perf_counter(), time.process_time()
            out = fn()
            w, c = time.perf_counter() - w, time.process_time() - c
            if name not in best or w < best[name][0]:
                best[name] = (w, c)
            if name == "machine":
                best["_rows"] = (len(out["rows"]), out["total"]["oee"] or 0.0)
    return best


def run(kind: str, a: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp())
    end = dt.datetime.combine(dt.date(2026, 11, 30), dt.time(), tzinfo=SH)
    eng = plant(kind, tmp)
    try:
        g = generate(eng, a.machines, a.lines, a.days, a.counts, end)
        print(f"[{kind}] {a.machines} machines × {a.days} days: {g['states']:,} state rows, {g['counts']:,} count rows "
              f"(written in {g['seconds']:.0f} s)")
        best = measure(eng, g["start"], end, a.rounds)
        bw = best["baseline"][0]
        print(f"  baseline SELECT COUNT(*) of the same state rows: {bw * 1000:8.1f} ms")
        rw = best["rows"][0]
        print(f"  row by row (reader.read, every row) {rw * 1000:8.1f} ms wall {best['rows'][1] * 1000:8.1f} ms CPU")
        for name, label in (("cold", "OEE per machine, cold"), ("machine", "OEE per machine, warm"),
                            ("day", "OEE per day, warm"), ("andon", "andon board (today)")):
            w, c = best[name]
            target = f"; target 1 s: {'met' if w <= 1.0 else 'NOT met'}" if name in ("machine", "day") else ""
            print(f"  {label:<26} {w * 1000:8.1f} ms wall {c * 1000:8.1f} ms CPU  ({w / bw:,.1f}x baseline, "
                  f"{w / rw:.3f}x row by row{target})")
        rows, oee = best["_rows"]
        print(f"  {int(rows)} machine rows, plant OEE {oee * 100:.1f}%; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        eng.dispose()
        if kind == "postgresql":
            e = sa.create_engine(fb.PG)
            with e.begin() as c:
                c.exec_driver_sql(f"DROP SCHEMA IF EXISTS bench_{TAG} CASCADE")
            e.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--machines", type=int, default=100)
    ap.add_argument("--lines", type=int, default=10)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--counts", action="store_true", help="also one machine_count row per machine per hour")
    a = ap.parse_args()
    for kind in (("sqlite", "postgresql") if a.db == "both" else (a.db,)):
        run(kind, a)


if __name__ == "__main__":
    main()
