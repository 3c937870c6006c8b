"""A plant on core 1.5.0 and quality 1.1.0, whose suppliers are free text (温州阀门厂, and 温州阀门厂 written with a
trailing space by someone else), upgrades to core 1.6.0 and quality 1.2.0: one 供应商档案 per distinct trimmed
text, every purchase order, receipt, lot, inspection plan, inspection lot, switching state, NCR and return to
supplier points at its vendor, the old text stays in the retired column, and the IQC of a new receipt of that
supplier moves the same switching state as before the upgrade. The old packs come from git history (commit
8774d86, the last with text suppliers)."""
from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from mom.platform.db.engine import read_tx, write_tx

ROOT = Path(__file__).resolve().parents[2]
BEFORE = "8774d86"
VALVE, TYPO, STEEL = "温州阀门厂", "温州阀门厂 ", "鞍钢"


def _old_packs(into: Path) -> tuple[Path, Path]:
    try:
        blob = subprocess.run(["git", "-C", str(ROOT), "archive", BEFORE, "modelpacks/core", "modelpacks/quality"],
                              check=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("the git history holding core 1.5.0 / quality 1.1.0 is not here (an installed copy without .git)")
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    return into / "modelpacks" / "core", into / "modelpacks" / "quality"


def _old_plant(engine: Any) -> dict[str, Any]:
    """Records of every form with a supplier text, written under core 1.5.0 / quality 1.1.0."""
    from mom.engines.inventory import posting as P
    from mom.engines.records import service as S
    from mom.engines.records.context import Ctx
    from mom.platform.composition import form_registry

    forms, ctx = form_registry(), Ctx.system()
    with write_tx(engine) as conn:
        def make(form: str, *docs: dict[str, Any]) -> list[dict[str, Any]]:
            return S.create_records(conn=conn, registry=forms, ctx=ctx, form=form, docs=list(docs))
        wh = make("warehouse", {"code": "WH1", "name": "原料仓"})[0]
        loc = make("location", {"code": "A01", "name": "A-01", "warehouse": wh["id"]})[0]["id"]
        item = conn.execute(sa.text("SELECT id FROM item WHERE code = 'RM-HT250'")).scalar_one()
        make("purchase_order", {"supplier": VALVE, "lines": [{"item": item, "qty": 10, "due_date": "2026-01-10"}]},
             {"supplier": TYPO, "lines": [{"item": item, "qty": 5, "due_date": "2026-01-11"}]},
             {"lines": [{"item": item, "qty": 1, "due_date": "2026-01-12"}]})                 # from MRP: no supplier yet
        plan = make("inspection_plan", {"name": "HT250 来料（温州阀门厂）", "inspection_type": "iqc", "item": item, "supplier": VALVE,
                                        "aql_major": "1.0", "inspection_level": "II"})[0]
        P.create_and_post(conn, forms, ctx, "stock_receipt", {"supplier": VALVE, "lines": [{"item": item, "qty": 100, "to_location": loc}]})
        P.create_and_post(conn, forms, ctx, "stock_receipt", {"supplier": STEEL, "lines": [{"item": item, "qty": 7, "to_location": loc,
                                                                                            "lot_number": "AG-1"}]})
        make("quality_state", {"inspection_type": "iqc", "item": item, "supplier": VALVE, "defect_class": "major",
                               "state": '{"severity": "tightened"}'},
             {"inspection_type": "iqc", "item": item, "supplier": TYPO, "defect_class": "minor", "state": "{}"},
             {"inspection_type": "ipqc_first", "item": item, "supplier": "", "defect_class": "major", "state": "{}"})
        ncr = make("nonconformance", {"title": "阀体砂眼", "item": item, "supplier": TYPO, "qty": 2})[0]
        make("supplier_return", {"supplier": VALVE, "nonconformance": None, "lines": [{"item": item, "qty": 1, "from_location": loc}]})
        # today's quality engine leaves quality 1.1.0's text-supplier forms alone: the lot as 1.1.0's IQC opened it
        make("inspection_lot", {"inspection_type": "iqc", "plan": plan["id"], "item": item, "supplier": VALVE, "lot_qty": 100})
    return {"item": item, "loc": loc, "plan": plan["id"], "ncr": ncr["id"]}


def test_text_suppliers_become_vendors_and_nothing_is_lost(cli, engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    core, quality = _old_packs(tmp_path / "old")
    for path, shown in ((core, "core 1.5.0"), (quality, "quality 1.1.0")):
        r = cli("pack", "install", str(path), "--yes", *(["--demo"] if path == core else []))
        assert r.exit_code == 0 and shown in r.output, r.output
    old = _old_plant(engine)

    r = cli("pack", "upgrade", "core", "--yes")
    assert r.exit_code == 0 and "1.6.0" in r.output, r.output
    r = cli("pack", "upgrade", "quality", "--yes")
    assert r.exit_code == 0 and "1.2.0" in r.output, r.output

    with read_tx(engine) as conn:
        q = lambda sql, **kw: conn.execute(sa.text(sql), kw).all()  # noqa: E731
        vendors = {name: (vid, code) for vid, name, code in q("SELECT id, name, code FROM vendor WHERE deleted_at IS NULL")}
        assert VALVE in vendors and STEEL in vendors and TYPO not in vendors      # one vendor per trimmed text
        valve, steel = vendors[VALVE][0], vendors[STEEL][0]
        assert vendors[VALVE][1].startswith("V") and vendors[STEEL][1].startswith("V")
        # every row that had a supplier text points at its vendor; the text stays in the retired column
        for table, old_col in (("purchase_order", "_r_pu02"), ("stock_receipt", "_r_sr04"), ("lot", "_r_lt04"),
                               ("inspection_plan", "_r_ip06"), ("inspection_lot", "_r_il07"), ("quality_state", "_r_qs03"),
                               ("nonconformance", "_r_nc07"), ("supplier_return", "_r_sr04")):
            rows = q(f"SELECT {old_col}, supplier FROM {table}")
            assert rows, table
            for text, vid in rows:
                want = vendors[text.strip()][0] if text and text.strip() else None
                assert vid == want, (table, text, vid, want)
        assert sorted((v for (v,) in q("SELECT supplier FROM purchase_order")), key=str) == sorted([valve, valve, None], key=str)
        assert {v for (v,) in q("SELECT supplier FROM lot WHERE number = 'AG-1'")} == {steel}
        keys = dict(q("SELECT defect_class || ':' || inspection_type, supplier_key FROM quality_state"))
        assert keys == {"major:iqc": str(valve), "minor:iqc": str(valve), "major:ipqc_first": ""}

    # a new receipt of the same supplier, picked by name, finds the supplier's plan and its tightened state
    from mom.engines.inventory import posting as P
    from mom.engines.records.context import Ctx
    from mom.platform.composition import form_registry

    with write_tx(engine) as conn:
        P.create_and_post(conn, form_registry(), Ctx.system(), "stock_receipt",
                          {"supplier": VALVE, "lines": [{"item": old["item"], "qty": 50, "to_location": old["loc"]}]})
    with read_tx(engine) as conn:
        lot = conn.execute(sa.text("SELECT plan, supplier, severity FROM inspection_lot ORDER BY id DESC LIMIT 1")).one()
    assert lot.plan == old["plan"] and lot.supplier == valve and lot.severity == "tightened"
