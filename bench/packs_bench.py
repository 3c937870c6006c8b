"""Pack manager benchmark (issue 18): plan, install and upgrade of a generated pack of 30 forms (10
fields each, references between them), 5 approval flows and 10 reports (and of the built-in demo pack), against the baseline of
publishing the same definitions straight through the stores in one transaction (``loader.apply`` +
``loader.apply_automation``: what ``mom form apply FOLDER`` does), measured in the same run. Target:
the pack installs in <= 20 s on SQLite. See docs/benchmarks.md.

    python bench/packs_bench.py [--db sqlite|postgresql|both] [--pg URL] [--rounds 5] [--forms 30] [--changed 10]

PostgreSQL: ``MOM_BENCH_PG`` (default postgresql+psycopg://postgres@127.0.0.1:5432/test), one schema
per database made by ``forms_bench.db_url``.
"""
from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forms_bench import db_url  # noqa: E402

NAME = "bench_pack"
ROLE = "bench_qc"


def form(i: int, n_forms: int) -> dict[str, Any]:
    """Form ``i``: 10 fields of the common kinds; every third form references the one before it."""
    f = [
        {"id": "c", "key": "code", "type": "text", "max_length": 40, "required": True, "unique": True,
         "label": {"zh-CN": "编号", "en": "Code"}},
        {"id": "t", "key": "title", "type": "text", "max_length": 200, "label": {"zh-CN": "名称", "en": "Title"}},
        {"id": "q", "key": "qty", "type": "decimal", "precision": 12, "scale": 3, "min": 0, "label": {"zh-CN": "数量", "en": "Qty"}},
        {"id": "n", "key": "pieces", "type": "integer", "label": {"zh-CN": "件数", "en": "Pieces"}},
        {"id": "s", "key": "status", "type": "select", "label": {"zh-CN": "状态", "en": "Status"},
         "options": [{"value": v, "label": {"zh-CN": z, "en": v}} for v, z in (("open", "未结"), ("done", "已结"), ("hold", "暂停"))]},
        {"id": "d", "key": "due_on", "type": "date", "label": {"zh-CN": "日期", "en": "Due on"}},
        {"id": "p", "key": "passed", "type": "boolean", "label": {"zh-CN": "合格", "en": "Passed"}},
        {"id": "r", "key": "remarks", "type": "long_text", "label": {"zh-CN": "备注", "en": "Remarks"}},
        {"id": "a", "key": "amount", "type": "decimal", "scale": 2, "label": {"zh-CN": "金额", "en": "Amount"}},
        {"id": "o", "key": "owner", "type": "user", "label": {"zh-CN": "负责人", "en": "Owner"}},
    ]
    if i > 0 and i % 3 == 0:      # remarks become a reference to the previous form (9 references in 30 forms)
        f[7] = {"id": "r", "key": "upstream", "type": "reference", "form": f"bench_f{i - 1:02d}",
                "label": {"zh-CN": "上游单据", "en": "Upstream"}}
    return {"format": "mom.form/1", "name": f"bench_f{i:02d}", "label": {"zh-CN": f"测试表单 {i}", "en": f"Bench form {i}"},
            "display_field": "code", "fields": f, "indexes": [["status", "due_on"]],
            "permissions": [{"role": "*", "actions": ["create", "read", "update"]}]}


def workflow(i: int) -> dict[str, Any]:
    return {"format": "mom.workflow/1", "name": f"bench_w{i}", "label": {"zh-CN": f"测试审批 {i}", "en": f"Bench flow {i}"},
            "form": f"bench_f{i:02d}", "trigger": {"on": "submit"},
            "nodes": [{"id": "check", "type": "approval", "label": {"zh-CN": "审核", "en": "Check"},
                       "assignees": [{"type": "role", "roles": [ROLE]}]},
                      {"id": "cc", "type": "cc", "label": {"zh-CN": "抄送负责人", "en": "Copy the owner"},
                       "assignees": [{"type": "field", "field": "owner"}]}]}


def report(i: int) -> dict[str, Any]:
    return {"format": "mom.report/1", "name": f"bench_r{i}", "label": {"zh-CN": f"测试报表 {i}", "en": f"Bench report {i}"},
            "source": f"bench_f{i:02d}",
            "params": [{"key": "period", "type": "date_range", "default": "last_30_days", "max_days": 400,
                        "label": {"zh-CN": "日期", "en": "Due on"}}],
            "filters": [{"field": "due_on", "op": "between", "param": "period"}],
            "dimensions": [{"key": "status", "field": "status", "label": {"zh-CN": "状态", "en": "Status"}}],
            "measures": [{"key": "n", "agg": "count", "label": {"zh-CN": "单数", "en": "Count"}},
                         {"key": "qty", "agg": "sum", "field": "qty", "label": {"zh-CN": "数量", "en": "Qty"}}],
            "permissions": {"roles": [ROLE]}}


def write_pack(root: Path, version: str, n_forms: int, changed: int) -> Path:
    """The pack folder (``changed`` forms differ in a v1.1.0: one field added, one label changed)."""
    from mom.engines.packs import checksums

    for sub in ("forms", "workflows", "reports"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"format": "mom.pack/1", "name": NAME, "version": version,
                                "label": {"zh-CN": "基准测试包", "en": "Benchmark pack"},
                                "roles": [{"name": ROLE, "label": {"zh-CN": "基准质检", "en": "Bench QC"}}],
                                "forms": [], "workflows": [], "reports": []}
    for i in range(n_forms):
        raw = form(i, n_forms)
        if version != "1.0.0" and i % max(1, n_forms // changed) == 0 and i // max(1, n_forms // changed) < changed:
            raw = copy.deepcopy(raw)
            raw["fields"][1]["label"] = {"zh-CN": "名称（新）", "en": "Title (new)"}
            raw["fields"].append({"id": "x", "key": "batch_no", "type": "text", "max_length": 40,
                                  "label": {"zh-CN": "批次号", "en": "Batch no."}})
        manifest["forms"].append(_dump(root, f"forms/{raw['name']}.json", raw))
    for i in range(5):
        manifest["workflows"].append(_dump(root, f"workflows/bench_w{i}.json", workflow(i)))
    for i in range(10):
        manifest["reports"].append(_dump(root, f"reports/bench_r{i}.json", report(i)))
    (root / "pack.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    checksums.write(root)
    return root


def _dump(root: Path, rel: str, raw: Any) -> str:
    (root / rel).write_text(json.dumps(raw, ensure_ascii=False, indent=2), encoding="utf-8")
    return rel


def fresh(kind: str, tmp: Path, name: str) -> Any:
    from mom.platform.db.engine import make_engine
    from mom.platform.db.migrate import upgrade

    eng = make_engine(db_url(kind, tmp, name))
    upgrade(eng)
    return eng


Timing = tuple[float, float]          # (wall seconds, this process's CPU seconds)


def _since(t: Timing) -> Timing:
    return time.perf_counter() - t[0], time.process_time() - t[1]


def _now() -> Timing:
    return time.perf_counter(), time.process_time()


def baseline(eng: Any, folder: Path) -> Timing:
    """What ``mom form apply FOLDER`` does: the definitions straight through the stores, one transaction."""
    from mom.engines.packs import loader
    from mom.platform.composition import form_registry
    from mom.platform.db.engine import write_tx

    t = _now()
    bundle = loader.load(folder)
    with write_tx(eng) as conn:
        loader.apply(conn, bundle)
        loader.apply_automation(conn, bundle, form_registry(), now=dt.datetime.now(dt.timezone.utc), tz=dt.timezone.utc)
    return _since(t)


def managed(eng: Any, action: str, folder: Path) -> tuple[Timing, Timing]:
    """(plan, execute) of ``mom pack <action> FOLDER --yes``: decide + rehearse, then decide again and apply."""
    from mom.engines.packs import manager
    from mom.platform.composition import form_registry

    t = _now()
    p = manager.plan(eng, action, str(folder), forms_factory=form_registry)
    t_plan = _since(t)
    assert not p.blocked, p.describe("en")
    t = _now()
    manager.execute(eng, p.hash, action, str(folder), forms_factory=form_registry)
    return t_plan, _since(t)


def check(eng: Any, args: argparse.Namespace) -> None:
    """The upgrade did what the plan said: every item owned by the pack, the changed forms changed."""
    from mom.engines.forms import store
    from mom.engines.packs import state
    from mom.platform.db.engine import read_tx

    with read_tx(eng) as conn:
        kinds: dict[str, int] = {}
        for row in state.items_of(conn, NAME):
            kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
        forms = store.known_forms(conn)
        version = state.packs(conn)[NAME]["version"]
    changed = sum(1 for n, raw in forms.items() if n.startswith("bench_f") and any(f["key"] == "batch_no" for f in raw["fields"]))
    want = {"forms": args.forms, "workflows": 5, "reports": 10, "roles": 1}
    assert {k: kinds.get(k, 0) for k in want} == want and changed == args.changed and version == "1.1.0", (kinds, changed, version)


KEYS = ("baseline_install", "plan", "install", "plan_install", "baseline_upgrade", "upgrade_plan", "upgrade", "plan_upgrade",
        "demo_baseline", "demo_plan", "demo_install", "demo_plan_install")
DEMO = Path(__file__).resolve().parents[1] / "modelpacks" / "demo"


def run_db(kind: str, args: argparse.Namespace, tmp: Path, v1: Path, v2: Path) -> dict[str, Any]:
    """``args.rounds`` rounds, each on fresh databases, baseline and pack manager alternating first."""
    rows: dict[str, list[Timing]] = {k: [] for k in KEYS}
    for r in range(args.rounds):
        order = ("base", "pack") if r % 2 == 0 else ("pack", "base")
        for side in order:
            eng = fresh(kind, tmp, f"{side}{r}")
            try:
                if side == "base":
                    rows["baseline_install"].append(baseline(eng, v1))
                    rows["baseline_upgrade"].append(baseline(eng, v2))
                else:
                    for action, folder, keys in (("install", v1, ("plan", "install", "plan_install")),
                                                 ("upgrade", v2, ("upgrade_plan", "upgrade", "plan_upgrade"))):
                        p, e = managed(eng, action, folder)
                        rows[keys[0]].append(p)
                        rows[keys[1]].append(e)
                        rows[keys[2]].append((p[0] + e[0], p[1] + e[1]))
                    check(eng, args)
            finally:
                eng.dispose()
            eng = fresh(kind, tmp, f"demo{side}{r}")       # the built-in demo pack (its demo records not loaded)
            try:
                if side == "base":
                    rows["demo_baseline"].append(baseline(eng, DEMO))
                else:
                    p, e = managed(eng, "install", DEMO)
                    rows["demo_plan"].append(p)
                    rows["demo_install"].append(e)
                    rows["demo_plan_install"].append((p[0] + e[0], p[1] + e[1]))
            finally:
                eng.dispose()
        print(f"  {kind} round {r + 1}: " + ", ".join(f"{k} {v[-1][0]:.2f}s" for k, v in rows.items()), file=sys.stderr)
    out: dict[str, Any] = {}
    for n, what in ((0, "wall"), (1, "cpu")):
        med = {k: round(statistics.median(x[n] for x in v), 2) for k, v in rows.items()}
        ratio = {k: round(med[k] / med["baseline_install"], 2) for k in ("plan", "install", "plan_install")}
        ratio.update({k: round(med[k] / med["baseline_upgrade"], 2) for k in ("upgrade_plan", "upgrade", "plan_upgrade")})
        ratio.update({k: round(med[k] / med["demo_baseline"], 2) for k in ("demo_plan", "demo_install", "demo_plan_install")})
        out[f"{what}_median_s"], out[f"{what}_ratio_to_baseline"] = med, ratio
    out["wall_all_s"] = {k: [round(x[0], 2) for x in v] for k, v in rows.items()}
    out["target_install_le_20s"] = max(x[0] for x in rows["plan_install"]) <= 20.0 if kind == "sqlite" else None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--pg", default=None, help="PostgreSQL URL (default MOM_BENCH_PG)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--forms", type=int, default=30)
    ap.add_argument("--changed", type=int, default=10, help="forms v1.1.0 changes")
    args = ap.parse_args()
    if args.pg:
        import forms_bench
        forms_bench.PG = args.pg
    with tempfile.TemporaryDirectory(prefix="mom-packs-bench-") as t:
        tmp = Path(t)
        os.environ["MOM_DATA_DIR"] = str(tmp / "data")        # uploaded packs: none; nothing outside tmp
        os.environ.pop("MOM_PACK_PATH", None)
        v1 = write_pack(tmp / "v1" / NAME, "1.0.0", args.forms, args.changed)
        v2 = write_pack(tmp / "v2" / NAME, "1.1.0", args.forms, args.changed)
        res: dict[str, Any] = {"pack": {"forms": args.forms, "fields_per_form": 10, "workflows": 5, "reports": 10,
                                        "forms_changed_in_1_1_0": args.changed}, "rounds": args.rounds}
        for kind in (("sqlite", "postgresql") if args.db == "both" else (args.db,)):
            res[kind] = run_db(kind, args, tmp, v1, v2)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
