"""The pack manager end to end (``mom pack …``): install into an empty database with and without demo
data, the plan that changes nothing, uninstall / reinstall keeping every record, purge, and
dependencies refused with the versions named. Upgrades: test_pack_upgrade.py; export: test_pack_export.py."""
from __future__ import annotations

from pathlib import Path
import pytest
import sqlalchemy as sa

from tests.integration.packs_helpers import admin_headers, form_versions, ok, pack_folder, pack_row, quality_pack, rows, snapshot, write_pack


@pytest.fixture
def packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on MOM_PACK_PATH for the test's packs (each in a sub-folder)."""
    return pack_folder(tmp_path, monkeypatch)


# ---------------------------------------------------------------- 1. install into an empty database
@pytest.mark.parametrize("demo", [False, True], ids=["master-only", "with-demo"])
def test_install_into_an_empty_database(cli, engine, client, packs, demo: bool) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    out = ok(cli("pack", "install", "qa", "--yes", *(["--demo"] if demo else [])))
    assert "质量检验" in out and "已安装" in out
    assert {r["code"] for r in rows(engine, "qa_line", "code")} == {"L1", "L2"}          # master data always
    checks = rows(engine, "qa_check", "code, qty, result")
    assert ({c["code"] for c in checks} == {"QC-001", "QC-002", "QC-003"}) if demo else checks == []

    listed = ok(cli("pack", "list"))
    line = next(x for x in listed.splitlines() if x.startswith("qa "))
    assert "1.0.0" in line and "已安装" in line
    shown = ok(cli("pack", "show", "qa"))
    for words in ("检验单", "产线", "检验单审核", "检验结论统计", "质检员"):
        assert words in shown

    admin = admin_headers(client, engine)
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
    out = ok(cli("pack", "plan", "qa"))
    assert "安装 质量检验" in out and "表单 检验单：新增" in out and "流程" in out
    r = cli("pack", "install", "qa")                 # no --yes, not a console
    assert r.exit_code == 1
    assert "--yes" in r.output and "表单 检验单：新增" in r.output
    assert snapshot(engine) == before
    assert pack_row(engine, "qa") is None


# ---------------------------------------------------------------- 6. uninstall, reinstall, purge
def test_uninstall_then_reinstall_keeps_every_record(cli, engine, client, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes", "--demo"))
    admin = admin_headers(client, engine)
    r = client.post("/api/records/qa_check", json={"code": "QC-200", "qty": 9, "result": "fail"}, headers=admin)
    assert r.status_code == 201, r.text
    made = r.json()["id"]
    lines, checks = rows(engine, "qa_line"), rows(engine, "qa_check")
    assert len(checks) == 4

    plan = ok(cli("pack", "plan", "qa", "--action", "uninstall"))
    assert "卸载 质量检验" in plan and "表单 检验单：停用（数据保留）" in plan
    out = ok(cli("pack", "uninstall", "qa", "--yes"))
    assert "已卸载" in out
    assert "已卸载" in next(x for x in ok(cli("pack", "list")).splitlines() if x.startswith("qa "))
    for resp in (client.get("/api/records/qa_check", headers=admin), client.get(f"/api/records/qa_check/{made}", headers=admin),
                 client.post("/api/records/qa_check", json={"code": "QC-201"}, headers=admin)):
        assert resp.status_code == 404, resp.text
        assert "已停用" in resp.text and "模型包 qa 已卸载" in resp.text and "重新安装该模型包即可恢复" in resp.text
    assert client.get("/api/reports/qa_by_result/data", headers=admin).status_code == 404
    names = {f["name"] for f in client.get("/api/forms", headers=admin).json()}
    assert not names & {"qa_line", "qa_check"}
    assert not [a for a in client.get("/api/apps", headers=admin).json() if a["name"] == "qa"]
    assert rows(engine, "qa_line") == lines and rows(engine, "qa_check") == checks      # the data stays

    ok(cli("pack", "install", "qa", "--yes"))
    assert rows(engine, "qa_line") == lines and rows(engine, "qa_check") == checks      # nothing doubled, nothing lost
    got = client.get(f"/api/records/qa_check/{made}", headers=admin)
    assert got.status_code == 200 and got.json()["code"] == "QC-200"
    assert client.get("/api/reports/qa_by_result/data", headers=admin).status_code == 200
    qa = next(a for a in client.get("/api/apps", headers=admin).json() if a["name"] == "qa")
    assert {f["name"] for f in qa["forms"]} == {"qa_line", "qa_check"}
    assert pack_row(engine, "qa")["status"] == "installed"


def test_uninstall_refused_while_a_pack_depends_on_it_then_purge(cli, engine, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes", "--demo"))
    ext = write_pack(packs / "qa_ext", {"format": "mom.pack/1", "name": "qa_ext", "version": "1.0.0",
                                        "label": {"zh-CN": "质量扩展", "en": "QA extension"}, "depends": {"qa": "^1.0.0"},
                                        "forms": ["forms/qa_note.json"]},
                     {"forms/qa_note.json": {"format": "mom.form/1", "name": "qa_note", "label": {"zh-CN": "检验备注", "en": "Note"},
                                             "fields": [{"id": "n1", "key": "text", "type": "text", "label": {"zh-CN": "内容", "en": "Text"}}]}})
    assert ext.is_dir()
    ok(cli("pack", "install", "qa_ext", "--yes"))
    before = snapshot(engine)
    r = cli("pack", "uninstall", "qa", "--yes")
    assert r.exit_code == 1, r.output
    assert "（qa_ext）依赖「质量检验」：请先卸载「质量扩展」" in r.output
    assert snapshot(engine) == before

    ok(cli("pack", "uninstall", "qa_ext", "--yes"))
    r = cli("pack", "uninstall", "qa", "--purge")                   # purging needs --yes too
    assert r.exit_code == 1 and "删除（含数据）" in r.output
    assert "qa_check" in sa.inspect(engine).get_table_names()
    ok(cli("pack", "uninstall", "qa", "--purge", "--yes"))
    tables = sa.inspect(engine).get_table_names()
    assert not {"qa_line", "qa_check"} & set(tables)
    assert pack_row(engine, "qa") is None and "qa_line" not in form_versions(engine)
    with engine.connect() as conn:       # roles stay (other packs and people use them)
        assert conn.execute(sa.text("SELECT count(*) FROM mom_role WHERE name = 'qa_inspector'")).scalar_one() == 1


# ---------------------------------------------------------------- 8. dependencies refused with the versions named
def _ext(packs: Path, depends: dict[str, str]) -> Path:
    return write_pack(packs / "qa_ext", {"format": "mom.pack/1", "name": "qa_ext", "version": "1.0.0",
                                         "label": {"zh-CN": "质量扩展", "en": "QA extension"}, "depends": depends,
                                         "roles": [{"name": "qa_lead", "label": {"zh-CN": "质量组长", "en": "QA lead"}}]}, {})


def test_missing_dependency_is_refused_naming_pack_and_range(cli, engine, packs) -> None:  # type: ignore[no-untyped-def]
    _ext(packs, {"spc": "^2.1.0"})
    before = snapshot(engine)
    r = cli("pack", "install", "qa_ext", "--yes")
    assert r.exit_code == 1, r.output
    assert "模型包 qa_ext 需要 spc ^2.1.0，但没有找到模型包 spc" in r.output
    assert snapshot(engine) == before and pack_row(engine, "qa_ext") is None


def test_too_old_installed_dependency_is_refused_naming_the_versions(cli, engine, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes"))
    _ext(packs, {"qa": ">=1.2.0 <2.0.0"})
    before = snapshot(engine)
    r = cli("pack", "install", "qa_ext", "--yes")
    assert r.exit_code == 1, r.output
    assert "qa_ext" in r.output and ">=1.2.0 <2.0.0" in r.output and "已安装的是 1.0.0" in r.output
    assert snapshot(engine) == before

    quality_pack(packs / "qa12", "1.2.0")                          # a fitting version on the path: say so
    r = cli("pack", "install", "qa_ext", "--yes")
    assert r.exit_code == 1 and "请先升级 qa（可用版本 1.2.0）" in r.output
    ok(cli("pack", "upgrade", "qa", "--yes"))
    ok(cli("pack", "install", "qa_ext", "--yes"))
    assert pack_row(engine, "qa_ext")["status"] == "installed" and pack_row(engine, "qa")["version"] == "1.2.0"


def test_missing_dependency_in_the_catalogue_is_installed_first(cli, engine, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    _ext(packs, {"qa": "^1.0.0"})
    plan = ok(cli("pack", "plan", "qa_ext"))
    assert plan.index("安装 质量检验（qa - -> 1.0.0）") < plan.index("安装 质量扩展（qa_ext - -> 1.0.0）")
    ok(cli("pack", "install", "qa_ext", "--yes"))
    assert pack_row(engine, "qa")["status"] == "installed" and {r["code"] for r in rows(engine, "qa_line", "code")} == {"L1", "L2"}


# ---------------------------------------------------------------- refusals a plant meets
def test_uninstall_refused_while_a_plant_form_references_the_packs_form(cli, engine, client, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    ok(cli("pack", "install", "qa", "--yes"))
    admin = admin_headers(client, engine)
    mine = {"format": "mom.form/1", "name": "line_stop", "label": {"zh-CN": "停线记录", "en": "Line stop"},
            "fields": [{"id": "x1", "key": "line", "type": "reference", "form": "qa_line", "label": {"zh-CN": "停线产线", "en": "Line"}}]}
    assert client.put("/api/forms/line_stop", json=mine, headers=admin).status_code == 200
    before = snapshot(engine)
    r = cli("pack", "uninstall", "qa", "--yes")
    assert r.exit_code == 1, r.output
    assert "表单「停线记录」的字段「停线产线」引用了本包的表单「产线」" in r.output
    assert snapshot(engine) == before


def test_install_refused_when_the_plant_has_its_own_form_of_that_name(cli, engine, client, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    admin = admin_headers(client, engine)
    own = {"format": "mom.form/1", "name": "qa_line", "label": {"zh-CN": "我的产线", "en": "My lines"},
           "fields": [{"id": "m1", "key": "code", "type": "text", "label": {"zh-CN": "编码", "en": "Code"}}]}
    assert client.put("/api/forms/qa_line", json=own, headers=admin).status_code == 200
    before = snapshot(engine)
    r = cli("pack", "install", "qa", "--yes")
    assert r.exit_code == 1, r.output
    assert "已有工厂自建的表单「我的产线」与模型包的同名但内容不同" in r.output
    assert snapshot(engine) == before


def test_unknown_pack_names_are_answered_with_a_suggestion(cli, engine, packs) -> None:  # type: ignore[no-untyped-def]
    quality_pack(packs / "qa")
    for args in (("pack", "show", "qaa"), ("pack", "install", "qaa", "--yes"), ("pack", "uninstall", "qa", "--yes")):
        r = cli(*args)
        assert r.exit_code == 1, r.output
        assert "Traceback" not in r.output
    assert "没有名为 qaa 的模型包" in cli("pack", "show", "qaa").output
    assert "qa" in cli("pack", "install", "qaa", "--yes").output
    assert "模型包 qa 没有安装" in cli("pack", "uninstall", "qa", "--yes").output
