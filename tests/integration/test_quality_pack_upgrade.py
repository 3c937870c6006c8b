"""A plant on quality 1.0.0 upgrades to 1.1.0 (issue 22 leftovers), SQLite and PostgreSQL: its SPC alarms are
kept and each gets its characteristic's 序号 (``char_seq``) from its plan by name (migrations/1.1.0/post.py);
the inspection lot gains 待检区调拨单 (``release_transfer``) and is no longer readable by every role. The
1.0.0 pack is taken from git history (commit 25fdbfb, the last on 1.0.0)."""
from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from mom.engines.quality import inspection as I
from mom.engines.records import service as S
from mom.engines.records.context import Ctx
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx, write_tx

ROOT = Path(__file__).resolve().parents[2]
QUALITY_1_0 = "25fdbfb"


def _quality_1_0(into: Path) -> Path:
    try:
        blob = subprocess.run(["git", "-C", str(ROOT), "archive", QUALITY_1_0, "modelpacks/quality"], check=True,
                              capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("the git history holding quality 1.0.0 is not here (an installed copy without .git)")
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    return into / "modelpacks" / "quality"


def test_quality_1_0_alarms_are_kept_and_get_their_characteristic_number(cli, core_bare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = cli("pack", "install", str(_quality_1_0(tmp_path / "old")), "--yes")
    assert r.exit_code == 0 and "quality 1.0.0" in r.output, r.output
    forms, ctx = form_registry(), Ctx.system()
    with write_tx(core_bare) as conn:
        item = conn.execute(sa.text("SELECT id FROM item ORDER BY id")).scalars().first()
        if item is None:
            item = S.create_records(conn=conn, registry=forms, ctx=ctx, form="item",
                                    docs=[{"code": "QD-1", "name": "阀体", "unit": "件"}])[0]["id"]
        plan = S.create_records(conn=conn, registry=forms, ctx=ctx, form="inspection_plan", docs=[{
            "name": "阀体来料", "inspection_type": "iqc", "item": item, "aql_major": "1.0", "characteristics": [
                {"seq_no": 1, "name": "外径", "kind": "numeric", "defect_class": "major", "lsl": "89.95", "usl": "90.05", "spc": True},
                {"seq_no": 2, "name": "内孔", "kind": "numeric", "defect_class": "major", "lsl": "73.95", "usl": "74.05", "spc": True}]}])[0]
        with I.engine_writes(conn):
            for name in ("内孔", "外径", "已删除的项目"):
                S.create_records(conn=conn, registry=forms, ctx=ctx, form="spc_alarm", docs=[{
                    "inspection_plan": plan["id"], "characteristic": name, "item": item, "rule": "均值图：1 点超出控制限（3σ）",
                    "subgroup": "QI-20261201-0001", "value": "74.043", "raised_at": ctx.now}])
    r = cli("pack", "upgrade", "quality", "--yes")
    assert r.exit_code == 0, r.output
    assert "1.1.0" in r.output and "1.2.0" in r.output and "迁移" in r.output
    with read_tx(core_bare) as conn:
        got = conn.execute(sa.text("SELECT characteristic, char_seq, rule FROM spc_alarm WHERE deleted_at IS NULL "
                                   "ORDER BY id")).all()
        version = conn.execute(sa.text("SELECT version FROM mom_pack WHERE name = 'quality'")).scalar_one()
        cols = {c["name"] for c in sa.inspect(conn).get_columns("inspection_lot")}
    assert version == "1.2.0"
    assert [(c, s) for c, s, _ in got] == [("内孔", 2), ("外径", 1), ("已删除的项目", None)]
    assert all(rule == "均值图：1 点超出控制限（3σ）" for _, _, rule in got)
    assert "release_transfer" in cols
    with read_tx(core_bare) as conn:
        roles = [p["role"] for p in form_registry().get(conn, "inspection_lot").definition.permissions]
    assert "*" not in roles and "storekeeper" in roles
