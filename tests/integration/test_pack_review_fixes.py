"""Regressions from the outside reviews of the pack manager (issue 18): what a careless admin or a new
plant IT person ran into, each kept fixed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from mom.platform.auth import service as auth
from mom.platform.db.engine import write_tx
from mom.platform.errors import InvalidInput
from tests.integration.packs_helpers import admin_headers, field, live_form, ok, pack_folder, pack_row, quality_pack, rows


@pytest.fixture
def packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return pack_folder(tmp_path, monkeypatch)


def _bump(defs: dict) -> None:
    field(defs["forms/qa_check.json"], "qty")["min"] = 2


def test_an_upgrade_keeps_a_flow_the_plant_switched_off(cli, engine, client, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes"))
    admin = admin_headers(client, engine)
    assert client.post("/api/workflows/qa_check_review/disable", headers=admin).status_code in (200, 204)
    quality_pack(packs / "qa", "1.1.0", edit=_bump)
    plan = ok(cli("pack", "plan", "qa", "--action", "upgrade"))
    assert "审批流程 检验单审核：恢复" not in plan
    ok(cli("pack", "upgrade", "qa", "--yes"))
    with engine.connect() as conn:
        enabled = conn.execute(sa.text("SELECT enabled FROM mom_workflow WHERE name = 'qa_check_review'")).scalar_one()
    assert not enabled


def test_uninstall_warns_of_running_approvals_and_purge_counts_records(cli, engine, client, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes", "--demo"))
    admin = admin_headers(client, engine)
    rid = rows(engine, "qa_check", "id")[0]["id"]
    with write_tx(engine) as conn:                # someone to approve it, so it stays running
        auth.create_user(conn, username="insp", password="insp-pass-123", display_name="质检员", roles=["qa_inspector"])
    r = client.post("/api/workflows/qa_check_review/start", json={"record_id": rid}, headers=admin)
    assert r.status_code == 201, r.text
    plan = ok(cli("pack", "plan", "qa", "--action", "uninstall"))
    assert "还有 1 个审批在进行中" in plan
    r = cli("pack", "plan", "qa", "--action", "uninstall", "--purge")
    assert r.exit_code == 0, r.output
    assert "将删除 3 条记录" in r.output and "删除数据不能恢复" in r.output


def test_export_refuses_a_packs_own_folder_and_an_installed_packs_name(cli, engine, client, packs, tmp_path) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes"))
    admin = admin_headers(client, engine)
    mine = {"format": "mom.form/1", "name": "tooling", "label": {"zh-CN": "工装", "en": "Tooling"},
            "fields": [{"id": "t1", "key": "code", "type": "text", "label": {"zh-CN": "编号", "en": "Code"}}]}
    assert client.put("/api/forms/tooling", json=mine, headers=admin).status_code == 200
    before = (packs / "qa" / "pack.json").read_text(encoding="utf-8")
    r = cli("pack", "export", "--name", "plant_config", "--out", packs / "qa")
    assert r.exit_code == 1 and "模型包自己的文件夹" in r.output
    r = cli("pack", "export", "--name", "qa", "--out", tmp_path / "x")
    assert r.exit_code == 1 and "已被模型包「质量检验」使用" in r.output
    assert (packs / "qa" / "pack.json").read_text(encoding="utf-8") == before
    r = cli("pack", "export", "--name", "plant_config", "--out", tmp_path / "y", "--label-en", "Only English")
    assert r.exit_code != 0 and "--label-zh" in r.output


def test_export_carries_the_roles_its_definitions_name(cli, engine, client, packs, tmp_path) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes"))
    admin = admin_headers(client, engine)
    mine = {"format": "mom.form/1", "name": "tooling", "label": {"zh-CN": "工装", "en": "Tooling"},
            "fields": [{"id": "t1", "key": "code", "type": "text", "label": {"zh-CN": "编号", "en": "Code"}}]}
    assert client.put("/api/forms/tooling", json=mine, headers=admin).status_code == 200
    flow = {"format": "mom.workflow/1", "name": "tooling_review", "label": {"zh-CN": "工装审核", "en": "Tooling review"},
            "form": "tooling", "trigger": {"on": "submit"},
            "nodes": [{"id": "a", "type": "approval", "label": {"zh-CN": "质检员审核", "en": "Inspector"},
                       "assignees": [{"type": "role", "roles": ["qa_inspector"]}], "mode": "any"}]}
    r = client.put("/api/workflows/tooling_review", json=flow, headers=admin)
    assert r.status_code == 200, r.text
    ok(cli("pack", "export", "--name", "plant_config", "--out", tmp_path / "out"))
    manifest = json.loads((tmp_path / "out" / "pack.json").read_text(encoding="utf-8"))
    assert "qa_inspector" in [x["name"] for x in manifest.get("roles", [])]     # a pack's role the flow names goes along


def test_a_plants_own_role_stays_the_plants(cli, engine, client, packs) -> None:  # type: ignore[no-untyped-def]
    admin = admin_headers(client, engine)
    r = client.post("/api/admin/roles", json={"name": "qa_inspector", "label": {"zh-CN": "本厂质检", "en": "Our QC"}}, headers=admin)
    assert r.status_code in (200, 201), r.text
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes"))
    with engine.connect() as conn:
        owned = conn.execute(sa.text("SELECT count(*) FROM mom_pack_item WHERE kind = 'roles' AND name = 'qa_inspector'")).scalar_one()
        label = conn.execute(sa.select(sa.column("label")).select_from(sa.table("mom_role"))
                             .where(sa.column("name") == "qa_inspector")).scalar_one()
    assert owned == 0                                     # not the pack's: export keeps it, uninstall leaves it
    assert (json.loads(label) if isinstance(label, str) else label)["zh-CN"] == "本厂质检"


def test_the_plan_says_what_else_happens(cli, engine, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    plan = ok(cli("pack", "plan", "qa", "--demo"))
    assert "基础数据：产线" in plan and "演示数据：检验单" in plan
    assert "菜单「质量检验」新增表单" in plan and "来源：" in plan
    ok(cli("pack", "install", "qa", "--yes"))
    quality_pack(packs / "qa", "1.1.0", edit=_bump, extra={"migrations/1.1.0/post.py": "def migrate(conn, ctx):\n    pass\n"})
    plan = ok(cli("pack", "plan", "qa", "--action", "upgrade"))
    assert "将运行迁移 1.1.0 post.py" in plan


def test_a_broken_migrations_folder_is_said_at_the_first_install(cli, engine, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa", extra={"migrations/next/post.py": "def migrate(conn, ctx):\n    pass\n",
                                      "migrations/1.1.0/post.py": "x = 1\n"})
    r = cli("pack", "plan", "qa")
    assert r.exit_code == 1
    assert "迁移文件夹名 next 不是版本号" in r.output and "缺少 migrate(conn, ctx) 函数" in r.output
    assert pack_row(engine, "qa") is None


def test_modified_files_show_even_when_the_checksum_list_was_rewritten(cli, engine, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "checksums", packs / "qa"))
    ok(cli("pack", "install", "qa", "--yes"))
    report = next((packs / "qa" / "reports").glob("*.json"))
    report.write_text(report.read_text(encoding="utf-8").replace("检验结论统计", "检验结论统计（改）"), encoding="utf-8")
    ok(cli("pack", "checksums", packs / "qa"))                 # the list rewritten along with the file
    shown = ok(cli("pack", "show", "qa"))
    assert f"reports/{report.name}" in shown


def test_a_bad_data_row_names_the_pack_and_the_file(cli, engine, packs) -> None:  # type: ignore[no-untyped-def]
    root = quality_pack(packs / "qa")
    fx = json.loads((root / "pack.json").read_text(encoding="utf-8"))["fixtures"][0]
    path = root / fx["file"]
    path.write_text(path.read_text(encoding="utf-8") + ("," * 0) + "\n" + "L9," + "x" * 80 + "\n", encoding="utf-8")
    r = cli("pack", "install", "qa", "--yes")
    assert r.exit_code == 1
    assert f"模型包 qa 的数据文件 {fx['file']}" in r.output and "整个安装已撤销" in r.output
    assert pack_row(engine, "qa") is None
    with engine.connect() as conn:
        assert not sa.inspect(conn).has_table("qa_line")


def test_install_refuses_bad_input_without_a_traceback(cli, engine, packs) -> None:  # type: ignore[no-untyped-def]
    r = cli("pack", "plan", "nothing_here")
    assert r.exit_code == 1 and "没有名为 nothing_here 的模型包" in r.output and "Traceback" not in r.output
    with pytest.raises(InvalidInput):
        from mom.engines.packs import exporter
        with engine.connect() as conn:
            exporter.export(conn, name="Bad-Name", out=packs / "z")
    assert live_form(engine, "qa_check") is None


def test_a_pack_installed_from_a_folder_is_found_by_name_afterwards(cli, engine, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    folder = quality_pack(tmp_path / "elsewhere" / "qa")          # not on MOM_PACK_PATH
    monkeypatch.chdir(tmp_path)
    ok(cli("pack", "install", "./elsewhere/qa", "--yes"))
    monkeypatch.chdir(folder.parent.parent.parent)                 # another working directory
    quality_pack(folder, "1.1.0", edit=_bump)
    plan = ok(cli("pack", "plan", "qa", "--action", "upgrade"))
    assert "qa 1.0.0 -> 1.1.0" in plan and "安装时的文件夹" in plan
    ok(cli("pack", "uninstall", "qa", "--yes"))
    assert "已安装" in ok(cli("pack", "install", "qa", "--yes"))       # "reinstall the pack" works by its name


def test_export_refuses_a_folder_holding_files_it_does_not_write(cli, engine, client, packs, tmp_path) -> None:  # type: ignore[no-untyped-def]
    admin = admin_headers(client, engine)
    mine = {"format": "mom.form/1", "name": "tooling", "label": {"zh-CN": "工装", "en": "Tooling"},
            "fields": [{"id": "t1", "key": "code", "type": "text", "label": {"zh-CN": "编号", "en": "Code"}}]}
    assert client.put("/api/forms/tooling", json=mine, headers=admin).status_code == 200
    out = tmp_path / "hand"
    out.mkdir()
    (out / "pack.json").write_text(json.dumps({"name": "plant_config", "exported": True}), encoding="utf-8")
    (out / "hooks.py").write_text("print('hi')\n", encoding="utf-8")
    r = cli("pack", "export", "--name", "plant_config", "--out", out)
    assert r.exit_code == 1 and "导出不会写的文件：hooks.py" in r.output
    assert (out / "hooks.py").exists()
    ok(cli("pack", "export", "--name", "plant_config", "--out", tmp_path / "clean"))
    ok(cli("pack", "export", "--name", "plant_config", "--out", tmp_path / "clean"))      # its own earlier export: replaced


def test_a_pack_changing_another_packs_definition_is_said_in_the_plan(cli, engine, client, packs, tmp_path) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes"))
    admin = admin_headers(client, engine)
    raw = client.get("/api/forms/qa_check", headers=admin).json()
    raw = raw.get("definition", raw)
    field(raw, "qty")["label"] = {"zh-CN": "样本量", "en": "Samples"}
    assert client.put("/api/forms/qa_check", json=raw, headers=admin).status_code == 200
    ok(cli("pack", "export", "--name", "plant_config", "--out", tmp_path / "out"))
    field(raw, "qty")["label"] = {"zh-CN": "抽检数量", "en": "Sample size"}                  # back as the pack shipped it
    assert client.put("/api/forms/qa_check", json=raw, headers=admin).status_code == 200
    plan = ok(cli("pack", "plan", tmp_path / "out"))
    assert "会修改模型包 qa 的表单「检验单」" in plan and "不随本包卸载而撤销" in plan and "名称" in plan


def test_a_pack_with_code_is_said_in_the_plan(cli, engine, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa", extra={"hooks.py": "X = 1\n"})
    plan = ok(cli("pack", "plan", "qa"))
    assert "带有程序代码（hooks.py）" in plan and "只安装可信来源的模型包" in plan
