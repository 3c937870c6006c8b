"""Interleaved A/B of the CSV import against earlier versions of ``engines/records/transfer.py`` and a
raw ``executemany`` of the same rows, on one database, in one process (docs/benchmarks.md).

    python bench/import_ab.py [--db sqlite|postgresql] [--rows 100000] [--rounds 4] [--against REV ...]

Each ``--against`` revision's transfer.py is loaded from git (``git show REV:engines/records/transfer.py``)
and run on the same file and database; the order of the sides changes every round so that a slow
spell of a shared machine falls on all of them. Prints wall and CPU seconds per round and the
ratios to the raw insert.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import gc
import importlib.util
import inspect
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
import forms_bench as fb  # noqa: E402

from mom.engines.forms.store import FormRegistry  # noqa: E402
from mom.engines.records import transfer  # noqa: E402
from mom.engines.records.context import SYSTEM, Ctx  # noqa: E402
from mom.platform.db.engine import make_engine, write_tx  # noqa: E402


def load_revision(rev: str, tmp: Path) -> Any:
    src = subprocess.run(["git", "show", f"{rev}:engines/records/transfer.py"], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parents[1]).stdout
    path = tmp / f"transfer_{len(list(tmp.glob('transfer_*')))}.py"
    path.write_text(src, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = mod   # dataclasses look their module up
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--against", action="append", default=[], help="a git revision whose import to compare")
    args = ap.parse_args()
    random.seed(7)
    tmp = Path(tempfile.mkdtemp())
    path = tmp / "rows.csv"
    fb.make_csv(path, args.rows)
    url = fb.db_url(args.db, tmp, "ab")
    fb.setup_platform(url, tmp)
    eng = make_engine(url)
    md = sa.MetaData()
    raw = sa.Table("raw_rows", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("lot_no", sa.String(40)),
                   sa.Column("qty", sa.Numeric(12, 3)), sa.Column("result", sa.String(64)), sa.Column("inspected_on", sa.Date),
                   sa.Column("remarks", sa.Text), sa.Column("passed", sa.Boolean), sa.Index("ix_raw_rows_result_qty", "result", "qty"))
    md.create_all(eng)

    def importer(mod: Any) -> Callable[[], None]:
        def run() -> None:
            kw = dict(registry=FormRegistry(), ctx=Ctx(actor=SYSTEM, now=dt.datetime.now(dt.timezone.utc)), form="bench_inspection", fmt="csv")
            with path.open("rb") as fh:
                if "engine" in inspect.signature(mod.import_records).parameters:
                    res = mod.import_records(engine=eng, stream=fh, **kw)
                else:   # before issue 16: one write transaction given by the caller
                    with write_tx(eng) as conn:
                        res = mod.import_records(conn=conn, stream=fh, **kw)
            assert res["created"] == args.rows, res
        return run

    def run_raw() -> None:
        with path.open(encoding="utf-8") as fh, write_tx(eng) as conn:
            r = csv.reader(fh)
            next(r)
            conn.execute(raw.insert(), [{"lot_no": a, "qty": b, "result": c, "inspected_on": dt.date.fromisoformat(d), "remarks": e or None,
                                         "passed": f == "1"} for a, b, c, d, e, f in r])

    sides = {"current": importer(transfer), **{rev: importer(load_revision(rev, tmp)) for rev in args.against}, "raw": run_raw}
    wall: dict[str, list[float]] = {k: [] for k in sides}
    cpu: dict[str, list[float]] = {k: [] for k in sides}
    names = list(sides)
    for r in range(args.rounds):
        for k in names if r % 2 == 0 else names[::-1]:
            with eng.begin() as c:
                c.execute(sa.text("DELETE FROM bench_inspection"))
                c.execute(sa.text("DELETE FROM raw_rows"))
            gc.collect()
            t, p = time.perf_counter(), time.process_time()
            sides[k]()
            wall[k].append(round(time.perf_counter() - t, 2))
            cpu[k].append(round(time.process_time() - p, 2))
    eng.dispose()
    print(json.dumps({"db": args.db, "rows": args.rows, "wall_s": wall, "cpu_s": cpu,
                      "ratio_to_raw_per_round": {k: [round(a / b, 2) for a, b in zip(v, wall["raw"])] for k, v in wall.items() if k != "raw"},
                      "best_wall_s": {k: min(v) for k, v in wall.items()}, "best_cpu_s": {k: min(v) for k, v in cpu.items()}}))


if __name__ == "__main__":
    main()
