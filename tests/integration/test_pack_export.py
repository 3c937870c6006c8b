"""dev -> prod: a plant's own configuration exported with ``mom pack export`` and installed into an
empty database, with the pack it depends on."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from mom.platform.auth import service as auth
from mom.platform.db.engine import write_tx
from tests.conftest import fixture_hash, login
from tests.integration.packs_helpers import field, live_form, ok, pack_row, rows


# ---------------------------------------------------------------- 7. dev -> prod: export, install elsewhere
AUDIT_FORM = {"format": "mom.form/1", "name": "supplier_audit", "label": {"zh-CN": "供应商审核", "en": "Supplier audit"},
              "fields": [{"id": "a1", "key": "supplier", "type": "reference", "form": "supplier", "label": {"zh-CN": "供应商", "en": "Supplier"}},
                         {"id": "a2", "key": "score", "type": "integer", "label": {"zh-CN": "得分", "en": "Score"}, "min": 0, "max": 100}],
              "permissions": [{"role": "*", "actions": ["create", "read", "update"]}]}
AUDIT_FLOW = {"format": "mom.workflow/1", "name": "supplier_audit_review", "label": {"zh-CN": "审核结果确认", "en": "Audit sign-off"},
              "form": "supplier_audit", "trigger": {"on": "submit"},
              "nodes": [{"id": "ok", "type": "approval", "label": {"zh-CN": "审核员确认", "en": "Auditor"},
                         "assignees": [{"type": "role", "roles": ["auditor"]}], "mode": "any"}]}
AUDIT_REPORT = {"format": "mom.report/1", "name": "audit_scores", "label": {"zh-CN": "审核得分", "en": "Audit scores"},
                "source": "supplier_audit", "dimensions": [{"key": "supplier", "field": "supplier", "label": {"zh-CN": "供应商", "en": "Supplier"}}],
                "measures": [{"key": "avg", "agg": "avg", "field": "score", "label": {"zh-CN": "平均分", "en": "Average"}}]}
AUDIT_BOARD = {"format": "mom.dashboard/1", "name": "audit_board", "label": {"zh-CN": "审核看板", "en": "Audit board"},
               "widgets": [{"id": "bars", "type": "bar", "report": "audit_scores", "x": "supplier", "y": ["avg"],
                            "title": {"zh-CN": "各供应商得分", "en": "Scores"}, "position": {"x": 0, "y": 0, "w": 12, "h": 6}}]}


def _configuration(engine: sa.engine.Engine) -> dict[str, Any]:
    """The plant's own configuration as the definitions read back, and the role's label."""
    from mom.engines.reports import store as defs
    from mom.engines.workflow import store as flows
    from mom.platform.db.engine import read_tx

    with read_tx(engine) as conn:
        role = conn.execute(sa.text("SELECT label FROM mom_role WHERE name = 'auditor'")).scalar()
        return {"form": live_form(engine, "supplier_audit"), "flow": flows.definition(conn, "supplier_audit_review"),
                "report": defs.live(conn, "report", "audit_scores"), "board": defs.live(conn, "dashboard", "audit_board"),
                "role": role if isinstance(role, dict) or role is None else json.loads(role)}


def _design(plant: Any) -> None:
    """What the plant designs on its test server: a role, a form, a flow, a report, a dashboard (and a record)."""
    c, admin = plant.client, plant.h("admin")
    assert c.post("/api/admin/roles", json={"name": "auditor", "label": {"zh-CN": "审核员", "en": "Auditor"}}, headers=admin).status_code == 201
    for path, body in (("/api/forms/supplier_audit", AUDIT_FORM), ("/api/workflows/supplier_audit_review", AUDIT_FLOW),
                       ("/api/reports/audit_scores", AUDIT_REPORT), ("/api/dashboards/audit_board", AUDIT_BOARD)):
        r = c.put(path, json=body, headers=admin)
        assert r.status_code == 200, (path, r.text)
    assert c.post("/api/records/supplier_audit", json={"score": 88}, headers=admin).status_code == 201


def _use(monkeypatch: Any, url: str) -> None:
    """Point the next ``mom`` commands at the database ``url``."""
    from mom.platform.settings import get_settings

    monkeypatch.setenv("MOM_DATABASE_URL", url)
    get_settings.cache_clear()


def _menu(client: TestClient, headers: dict[str, str], group: str) -> dict[str, list[str]]:
    app = next(a for a in client.get("/api/apps", headers=headers).json() if a["name"] == group)
    return {k: sorted(i["name"] for i in app[k]) for k in ("forms", "reports", "dashboards")}


def test_export_a_configuration_and_install_it_into_an_empty_database(plant, cli, engine, db_templates, tmp_path,  # type: ignore[no-untyped-def]
                                                                      monkeypatch) -> None:
    from mom.platform.api.app import create_app
    from mom.platform.db.engine import make_engine
    from mom.platform.settings import Settings

    c, admin = plant.client, plant.h("admin")
    _design(plant)
    dev = _configuration(engine)
    dev_menu = _menu(c, admin, "")
    assert dev_menu == {"forms": ["supplier_audit"], "reports": ["audit_scores"], "dashboards": ["audit_board"]}

    out = tmp_path / "plant_config"
    said = ok(cli("pack", "export", "--name", "plant_config", "--out", out, "--label-zh", "本厂配置", "--label-en", "Plant configuration"))
    demo = json.loads((Path(__file__).resolve().parents[2] / "modelpacks/demo/pack.json").read_text(encoding="utf-8"))["version"]
    assert f"依赖 / depends: demo ^{demo}" in said
    manifest = json.loads((out / "pack.json").read_text(encoding="utf-8"))
    assert manifest["forms"] == ["forms/supplier_audit.json"] and manifest["depends"] == {"demo": f"^{demo}"}
    assert [r["name"] for r in manifest["roles"]] == ["auditor"]
    assert (out / "CHECKSUMS.sha256").is_file()

    (tmp_path / "prod").mkdir()
    with db_templates.database("migrated", tmp_path / "prod") as prod_url:
        _use(monkeypatch, prod_url)
        plan = ok(cli("pack", "plan", out))
        assert "安装 演示" in plan and "安装 本厂配置" in plan
        ok(cli("pack", "install", out, "--yes"))
        prod = make_engine(prod_url, pool_size=2)
        try:
            assert pack_row(prod, "demo")["status"] == "installed"            # the dependency came along
            assert pack_row(prod, "plant_config")["version"] == "1.0.0"
            assert _configuration(prod) == dev                                # identical definitions and role
            assert rows(prod, "supplier_audit") == []                         # no records
            with write_tx(prod) as conn:
                auth.create_user(conn, username="boss", password_hash=fixture_hash("boss-pass-1"), is_admin=True)
            app = create_app(Settings(data_dir=tmp_path / "prod-data", database_url=prod_url), prod, migrate=False)
            with TestClient(app) as pc:
                assert _menu(pc, login(pc, "boss", "boss-pass-1"), "plant_config") == dev_menu
        finally:
            prod.dispose()


def test_promoting_a_second_version_upgrades_prod_keeping_its_own_changes(plant, cli, engine, db_url, db_templates,  # type: ignore[no-untyped-def]
                                                                          tmp_path, monkeypatch) -> None:
    from mom.engines.forms import store
    from mom.platform.db.engine import make_engine

    c, admin = plant.client, plant.h("admin")
    _design(plant)
    out = tmp_path / "plant_config"
    ok(cli("pack", "export", "--name", "plant_config", "--out", out))
    (tmp_path / "prod").mkdir()
    with db_templates.database("migrated", tmp_path / "prod") as prod_url:
        _use(monkeypatch, prod_url)
        ok(cli("pack", "install", out, "--yes"))
        prod = make_engine(prod_url, pool_size=2)
        try:
            raw = live_form(prod, "supplier_audit")   # prod changes a label of its own (what the designer publishes)
            field(raw, "score")["label"] = {"zh-CN": "审核得分", "en": "Audit score"}
            with write_tx(prod) as conn:
                store.publish(conn, raw)
            # dev goes on: a field added, exported again as 1.1.0 into the same folder
            r = c.get("/api/forms/supplier_audit", headers=admin).json()
            raw = r.get("definition", r)
            raw["fields"].append({"id": "a3", "key": "auditor_note", "type": "text", "label": {"zh-CN": "审核意见", "en": "Notes"}})
            assert c.put("/api/forms/supplier_audit", json=raw, headers=admin).status_code == 200
            _use(monkeypatch, db_url)
            ok(cli("pack", "export", "--name", "plant_config", "--out", out, "--version", "1.1.0"))
            _use(monkeypatch, prod_url)
            plan = ok(cli("pack", "plan", out, "--action", "upgrade"))
            assert "升级 本厂配置（plant_config 1.0.0 -> 1.1.0）" in plan and "表单 供应商审核：合并" in plan
            ok(cli("pack", "upgrade", out, "--yes"))
            got = live_form(prod, "supplier_audit")
            assert "auditor_note" in [f["key"] for f in got["fields"]]                 # dev's change promoted
            assert field(got, "score")["label"]["zh-CN"] == "审核得分"                  # prod's own change kept
            assert pack_row(prod, "plant_config")["version"] == "1.1.0"
        finally:
            prod.dispose()


def test_export_refuses_a_foreign_folder_and_an_empty_configuration(plant, cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = cli("pack", "export", "--name", "plant_config", "--out", tmp_path / "nothing")
    assert r.exit_code == 1 and "没有可导出的本厂定义" in r.output          # the demo pack's own are not exported
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("x", encoding="utf-8")
    _design(plant)
    r = cli("pack", "export", "--name", "plant_config", "--out", foreign)
    assert r.exit_code == 1 and "不是空的" in r.output
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "x" and not (foreign / "pack.json").exists()
    r = cli("pack", "export", "--name", "Plant Config", "--out", tmp_path / "bad")
    assert r.exit_code == 1 and "包名" in r.output


def test_the_plants_changes_to_a_packs_forms_travel_with_the_export(plant, cli, engine, db_templates, tmp_path,  # type: ignore[no-untyped-def]
                                                                    monkeypatch) -> None:
    from mom.engines.packs.archive import pack_zip
    from mom.platform.db.engine import make_engine

    c, admin = plant.client, plant.h("admin")
    _design(plant)
    raw = live_form(engine, "supplier")                   # the demo pack's form, customised on dev
    raw["fields"].append({"id": "x9", "key": "audit_grade", "type": "text", "label": {"zh-CN": "审核等级", "en": "Audit grade"}})
    field(raw, "contact_phone")["label"] = {"zh-CN": "联系人电话", "en": "Contact phone"}
    assert c.put("/api/forms/supplier", json=raw, headers=admin).status_code == 200
    dev_supplier = live_form(engine, "supplier")
    out = tmp_path / "plant_config"
    ok(cli("pack", "export", "--name", "plant_config", "--out", out))
    zipped = tmp_path / "plant_config.zip"
    zipped.write_bytes(pack_zip(out))

    (tmp_path / "prod").mkdir()
    with db_templates.database("migrated", tmp_path / "prod") as prod_url:
        _use(monkeypatch, prod_url)
        ok(cli("pack", "install", zipped, "--yes"))                    # the .zip the screen downloads
        prod = make_engine(prod_url, pool_size=2)
        try:
            got = live_form(prod, "supplier")
            assert got == dev_supplier                                      # the plant's change to demo's form came along
            assert pack_row(prod, "demo")["status"] == "installed" and pack_row(prod, "plant_config")["status"] == "installed"
            assert _configuration(prod) == _configuration(engine)
        finally:
            prod.dispose()
