"""The pack manager end to end (``mom pack …`` and the manager's API) on an empty and on the demo
database: install with and without demo data, the plan that changes nothing, dependencies refused
with the versions named, uninstall / reinstall keeping every record, purge, and a stale plan hash."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from mom.engines.packs import manager
from mom.platform.auth import service as auth
from mom.platform.cli.common import form_registry
from mom.platform.db.engine import write_tx
from mom.platform.errors import Conflict
from tests.conftest import fixture_hash, login
from tests.integration.packs_helpers import field, form_versions, pack_row, quality_pack, rows, snapshot


@pytest.fixture
def packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on MOM_PACK_PATH for the test's packs (each in a sub-folder)."""
    folder = tmp_path / "packs"
    folder.mkdir()
    monkeypatch.setenv("MOM_PACK_PATH", str(folder))
    return folder


def _ok(result: Any) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def _admin_client(client: TestClient, engine: sa.engine.Engine) -> dict[str, str]:
    with write_tx(engine) as conn:
        auth.create_user(conn, username="boss", password_hash=fixture_hash("boss-pass-1"), is_admin=True)
    return login(client, "boss", "boss-pass-1")


# ---------------------------------------------------------------- 1. install into an empty database
@pytest.mark.parametrize("demo", [False, True], ids=["master-only", "with-demo"])
def test_install_into_an_empty_database(cli, engine, client, packs, demo: bool) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    out = _ok(cli("pack", "install", "qa", "--yes", *(["--demo"] if demo else [])))
    assert "质量检验" in out and "已安装" in out
    assert {r["code"] for r in rows(engine, "qa_line", "code")} == {"L1", "L2"}          # master data always
    checks = rows(engine, "qa_check", "code, qty, result")
    assert ({c["code"] for c in checks} == {"QC-001", "QC-002", "QC-003"}) if demo else checks == []

    listed = _ok(cli("pack", "list"))
    line = next(x for x in listed.splitlines() if x.startswith("qa "))
    assert "1.0.0" in line and "已安装" in line
    shown = _ok(cli("pack", "show", "qa"))
    for words in ("检验单", "产线", "检验单审核", "检验结论统计", "质检员"):
        assert words in shown

    admin = _admin_client(client, engine)
    apps = client.get("/api/apps", headers=admin).json()
    qa = next(a for a in apps if a["name"] == "qa")
    assert {f["name"] for f in qa["forms"]} == {"qa_line", "qa_check"}
    assert [r["name"] for r in qa["reports"]] == ["qa_by_result"]
    assert qa["label"]["zh-CN"] == "质量检验"
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM mom_role WHERE name = 'qa_inspector'")).scalar_one() == 1
    r = client.get("/api/reports/qa_by_result/data", headers=admin)
    assert r.status_code == 200, r.text
    r = client.get("/api/workflows/qa_check_review", headers=admin)
    assert r.status_code == 200, r.text


# ---------------------------------------------------------------- 2. the plan changes nothing
def test_plan_and_unconfirmed_install_change_nothing(cli, engine, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    before = snapshot(engine)
    out = _ok(cli("pack", "plan", "qa"))
    assert "安装 质量检验" in out and "表单 检验单：新增" in out and "流程" in out
    r = cli("pack", "install", "qa")                 # no --yes, not a console
    assert r.exit_code == 1
    assert "--yes" in r.output and "表单 检验单：新增" in r.output
    assert snapshot(engine) == before
    assert pack_row(engine, "qa") is None
