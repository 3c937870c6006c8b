"""A plant on core 1.3.0 (before stock) upgrades to the core pack with the stock forms: the upgrade adds the
warehouse, location, lot, ledger, balance and document forms beside the plant's data, and stock posts at
once. The 1.3.0 pack is taken from git history (commit c798d06, the last before the stock forms)."""
from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from mom.platform.db.engine import read_tx

ROOT = Path(__file__).resolve().parents[2]
CORE_1_3 = "c798d06"


def _core_1_3(into: Path) -> Path:
    try:
        blob = subprocess.run(["git", "-C", str(ROOT), "archive", CORE_1_3, "modelpacks/core"], check=True,
                              capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("the git history holding core 1.3.0 is not here (an installed copy without .git)")
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    return into / "modelpacks" / "core"


def test_core_1_3_upgrades_to_the_stock_forms_and_posts(cli, engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    old = _core_1_3(tmp_path / "old")
    r = cli("pack", "install", str(old), "--yes", "--demo")
    assert r.exit_code == 0 and "core 1.3.0" in r.output, r.output
    assert cli("stock", "onhand").exit_code != 0           # no stock forms yet: refused in words
    r = cli("pack", "upgrade", "core", "--yes")
    assert r.exit_code == 0, r.output
    assert "新建表单「库存流水」" in r.output and "新建表单「生产领料」" in r.output
    with read_tx(engine) as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM item")).scalar_one() == 6      # the plant's items kept
    from mom.engines.records import service as S
    from mom.engines.records.context import Ctx
    from mom.engines.inventory import posting as P
    from mom.platform.composition import form_registry
    from mom.platform.db.engine import write_tx

    forms, ctx = form_registry(), Ctx.system()
    with write_tx(engine) as conn:
        wh = S.create_records(conn=conn, registry=forms, ctx=ctx, form="warehouse", docs=[{"code": "WH1", "name": "原料仓"}])[0]
        loc = S.create_records(conn=conn, registry=forms, ctx=ctx, form="location",
                               docs=[{"code": "A01", "name": "A-01", "warehouse": wh["id"]}])[0]
        item = conn.execute(sa.text("SELECT id FROM item WHERE code = 'PT-M12'")).scalar_one()
        S.create_records(conn=conn, registry=forms, ctx=ctx, form="vendor", docs=[{"code": "V0001", "name": "鞍钢"}])   # core 1.6.0
        P.create_and_post(conn, forms, ctx, "stock_receipt", {"supplier": "鞍钢", "lines": [{"item": item, "qty": 12, "to_location": loc["id"]}]})
    r = cli("stock", "onhand", "PT-M12")
    assert r.exit_code == 0 and "A-01" in r.output and "12件" in r.output, r.output
    assert cli("stock", "rebuild", "--check").exit_code == 0
