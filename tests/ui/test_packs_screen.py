"""The admin screen 模型包 against the real server: a supervisor sees the demo pack installed, installs
a small pack from MOM_PACK_PATH through its plan, upgrades it, and uninstalls it (the data-deleting
option shows its red warning first); the app menu follows each step without a reload. A plan that
changed before it was confirmed is shown afresh; the plant's configuration exports as a .zip (she types
a Chinese name only) and uploads back into its install plan."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.ui.conftest import login, shot

PACK = "uitest_pack"
FORM = "uitest_log"


def _write_pack(root: Path, version: str, extra_field: bool = False, name: str = PACK, label: str = "界面测试包",
                reading: str = "读数") -> None:
    """A pack ``name`` with one form of two fields (or three), as a plant's own folder would hold it."""
    fields = [{"id": "u1", "key": "spot", "type": "text", "label": {"zh-CN": "巡检点", "en": "Spot"}, "required": True},
              {"id": "u2", "key": "reading", "type": "decimal", "label": {"zh-CN": reading, "en": "Reading"}}]
    if extra_field:
        fields.append({"id": "u3", "key": "remark", "type": "text", "label": {"zh-CN": "备注", "en": "Remark"}})
    form = {"format": "mom.form/1", "name": FORM if name == PACK else f"{name}_log",
            "label": {"zh-CN": "巡检记录", "en": "Patrol log"}, "fields": fields,
            "permissions": [{"role": "*", "actions": ["create", "read", "update"]}]}
    manifest = {"format": "mom.pack/1", "name": name, "version": version,
                "label": {"zh-CN": label, "en": "UI test pack"}, "forms": ["forms/log.json"]}
    (root / "forms").mkdir(parents=True, exist_ok=True)
    (root / "forms" / "log.json").write_text(json.dumps(form, ensure_ascii=False), encoding="utf-8")
    (root / "pack.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def _row(page, name: str):  # type: ignore[no-untyped-def]
    return page.locator("[data-test=packs] .el-table__body tr").filter(has=page.locator(f"[data-test=pack-{name}]"))


def _plan(page, action: str, name: str = PACK):  # type: ignore[no-untyped-def]
    """Open a row's action and wait for its plan to be shown."""
    page.click(f"[data-test={action}-{name}]")
    dialog = page.locator(".el-dialog[data-test=plan]")
    dialog.locator("[data-test=plan-kind-forms]").wait_for()
    assert "packs." not in dialog.inner_text()      # every word from the locale files, no message key
    return dialog


def _confirm(page, dialog, done: str) -> None:  # type: ignore[no-untyped-def]
    dialog.locator("[data-test=plan-confirm]").click()
    page.locator(".el-message--success", has_text=done).wait_for()
    dialog.wait_for(state="hidden")


def test_install_upgrade_and_uninstall_a_pack_through_its_plan(page, server, api, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / PACK
    _write_pack(root, "1.0.0")
    monkeypatch.setenv("MOM_PACK_PATH", str(tmp_path))    # the catalogue reads it on every call
    login(page, server)
    page.click("[data-test=nav-packs]")
    page.locator("[data-test=packs]").wait_for()

    # the demo pack is installed; the new one is found but not installed, with its label, never its key
    assert _row(page, "demo").locator("[data-test=state-demo]").inner_text() == "已安装"
    row = _row(page, PACK)
    assert row.locator(f"[data-test=pack-{PACK}]").inner_text() == "界面测试包"
    assert row.locator(f"[data-test=state-{PACK}]").inner_text() == "未安装"
    # where each comes from in words (the path in a tooltip); no dependency shows the same mark as no changed file
    assert row.locator(f"[data-test=origin-{PACK}]").inner_text() == "服务器模型包目录"
    assert _row(page, "demo").locator("[data-test=origin-demo]").inner_text() == "系统自带"
    assert [c.strip() for c in row.locator("td").all_inner_texts()][4:6] == ["—", "—"]
    nav = page.locator(".nav")
    assert "界面测试包" not in nav.inner_text()

    # install: the plan names the form and its change in words; confirming adds it to the menu
    dialog = _plan(page, "install")
    assert "安装计划：界面测试包" in dialog.locator(".el-dialog__header").inner_text()
    item = dialog.locator(f"[data-test=plan-item-{FORM}]")
    assert item.locator(".el-tag").inner_text() == "新增" and "巡检记录" in item.inner_text()
    assert dialog.locator("[data-test=plan-kind-forms] h4").inner_text() == "表单"
    assert dialog.locator("[data-test=plan-confirm]").inner_text() == "确认安装"
    notes = dialog.locator("[data-test=plan-notes]").inner_text()     # where it comes from and what else happens
    assert "的来源：服务器模型包目录" in notes and "新增表单" in notes
    assert not dialog.locator("[data-test=plan-demo]").is_visible()      # the pack has no demo data to offer
    shot(page, "pack-plan")
    _confirm(page, dialog, "已安装「界面测试包」")
    row.locator(f"[data-test=state-{PACK}]", has_text="已安装").wait_for()
    nav.get_by_text("界面测试包").click()
    nav.get_by_text("巡检记录").wait_for()
    assert [f["name"] for f in api().get("/api/forms") if f["name"] == FORM] == [FORM]

    # a newer version in the folder: the row offers the upgrade, whose plan says what changes in the form
    _write_pack(root, "1.1.0", extra_field=True)
    page.reload()
    row.locator(f"[data-test=state-{PACK}]", has_text="可升级").wait_for()
    assert "1.0.0 → 1.1.0" in row.inner_text()
    dialog = _plan(page, "upgrade")
    item = dialog.locator(f"[data-test=plan-item-{FORM}]")
    assert item.locator(".el-tag").inner_text() == "修改", item.inner_text()
    assert dialog.locator("[data-test=plan-confirm]").is_enabled()
    _confirm(page, dialog, "已升级「界面测试包」")
    row.locator(f"[data-test=state-{PACK}]", has_text="已安装").wait_for()
    assert "remark" in [f["key"] for f in api().get(f"/api/forms/{FORM}")["definition"]["fields"]]
    shot(page, "packs")

    # its detail: what it installed, by label, under where it came from and when it was installed and upgraded
    page.click(f"[data-test=pack-{PACK}]")
    drawer = page.locator(".el-drawer[data-test=pack-detail]")
    drawer.get_by_text("巡检记录").wait_for()
    assert "表单" in drawer.inner_text() and "文件与发布时一致" in drawer.inner_text()
    head = drawer.locator("[data-test=pack-head]").inner_text()
    assert "1.1.0" in head and "来源：服务器模型包目录" in head and "安装于 " in head and "升级于 " in head, head
    shot(page, "pack-detail")
    drawer.locator(".el-drawer__close-btn").click()
    drawer.wait_for(state="hidden")

    # uninstall: deleting the data is offered with a strong warning, and the plan says 删除 then
    dialog = _plan(page, "uninstall")
    assert dialog.locator(f"[data-test=plan-item-{FORM}] .el-tag").inner_text() == "停用"
    assert not dialog.locator("[data-test=purge-warning]").is_visible()
    dialog.locator("[data-test=plan-purge]").click()
    warning = dialog.locator("[data-test=purge-warning]")
    warning.wait_for()
    assert "永久删除" in warning.inner_text() and "无法恢复" in warning.inner_text()
    dialog.locator(f"[data-test=plan-item-{FORM}] .el-tag", has_text="删除").wait_for()
    # a second step: the records can be exported first, and only typing the pack's name enables 确认卸载
    assert dialog.locator(f"[data-test=purge-export-{FORM}]").get_attribute("href") == f"#/f/{FORM}"
    confirm = dialog.locator("[data-test=plan-confirm]")
    assert confirm.is_disabled()
    dialog.locator("[data-test=purge-name]").fill("界面测试")
    assert confirm.is_disabled()
    dialog.locator("[data-test=purge-name]").fill("界面测试包")
    assert confirm.is_enabled() and "el-button--danger" in (confirm.get_attribute("class") or "")
    shot(page, "pack-uninstall-plan")
    dialog.locator("[data-test=plan-purge]").click()           # keep the data after all
    dialog.locator(f"[data-test=plan-item-{FORM}] .el-tag", has_text="停用").wait_for()
    assert dialog.locator("[data-test=plan-confirm]").inner_text() == "确认卸载"
    _confirm(page, dialog, "已卸载「界面测试包」")
    row.locator(f"[data-test=state-{PACK}]", has_text="已卸载").wait_for()
    page.wait_for_function("!document.querySelector('.nav').textContent.includes('界面测试包')")
    assert "巡检记录" not in nav.inner_text()
    assert FORM not in [f["name"] for f in api().get("/api/forms")]


def test_a_stale_plan_shows_the_fresh_one_and_asks_again(page, server, api, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    name = "uitest_stale"
    _write_pack(tmp_path / name, "1.0.0", name=name, label="过期计划测试包")
    monkeypatch.setenv("MOM_PACK_PATH", str(tmp_path))
    login(page, server)
    page.goto(server + "/#/admin/packs")
    state = _row(page, name).locator(f"[data-test=state-{name}]")
    assert state.inner_text() == "未安装"
    dialog = _plan(page, "install", name)
    # the pack changes on disk while the plan is open: confirming is refused and the fresh plan shown
    _write_pack(tmp_path / name, "1.0.1", extra_field=True, name=name, label="过期计划测试包")
    dialog.locator("[data-test=plan-confirm]").click()
    dialog.locator("[data-test=plan-changed]").wait_for()
    assert "计划已变化" in dialog.locator("[data-test=plan-changed]").inner_text()
    assert "1.0.1" in dialog.inner_text()
    assert api().get(f"/api/packs/{name}")["status"] != "installed"    # nothing was done
    # confirming again applies the plan now shown
    _confirm(page, dialog, "已安装「过期计划测试包」")
    state.filter(has_text="已安装").wait_for()
    assert api().get(f"/api/packs/{name}")["installed_version"] == "1.0.1"
    admin = api()      # leave the session's server without the pack
    plan = admin.post(f"/api/packs/{name}/plan", {"action": "uninstall"})
    admin.post(f"/api/packs/{name}/uninstall", {"confirm": plan["hash"]})


def test_a_conflict_shows_both_values_and_blocks_the_upgrade(page, server, api, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    name, form = "uitest_conflict", "uitest_conflict_log"
    _write_pack(tmp_path / name, "1.0.0", name=name, label="冲突测试包")
    monkeypatch.setenv("MOM_PACK_PATH", str(tmp_path))
    admin = api()
    plan = admin.post(f"/api/packs/{name}/plan", {"action": "install"})
    admin.post(f"/api/packs/{name}/install", {"confirm": plan["hash"]})
    # the plant renames a field in the designer; the new version renames it differently
    raw = admin.get(f"/api/forms/{form}")["definition"]
    raw["fields"][1]["label"]["zh-CN"] = "读数（毫米）"
    r = httpx.put(server + f"/api/forms/{form}", json=raw, headers=admin.h)
    assert r.status_code == 200, r.text
    _write_pack(tmp_path / name, "1.1.0", name=name, label="冲突测试包", reading="读数（厘米）")
    login(page, server)
    page.goto(server + "/#/admin/packs")
    dialog = _plan(page, "upgrade", name)
    box = dialog.locator("[data-test=plan-conflicts]")
    assert "冲突（1 处）" in box.inner_text() and "巡检记录" in box.inner_text()
    assert "读数（毫米）" in box.locator("[data-test=conflict-plant]").inner_text()
    assert "读数（厘米）" in box.locator("[data-test=conflict-pack]").inner_text()
    assert "在设计器中" in box.inner_text()
    link = box.locator("[data-test=conflict-design]")
    assert link.inner_text() == "去设计器修改" and link.get_attribute("href") == f"#/design/form/{form}"
    assert dialog.locator(f"[data-test=plan-item-{form}] .el-tag").inner_text() == "冲突"
    assert dialog.locator("[data-test=plan-confirm]").is_disabled()
    shot(page, "pack-conflict")
    page.keyboard.press("Escape")
    plan = admin.post(f"/api/packs/{name}/plan", {"action": "uninstall"})   # leave the session's server without it
    admin.post(f"/api/packs/{name}/uninstall", {"confirm": plan["hash"]})


PLANT_FORM = {"format": "mom.form/1", "name": "uitest_plant_check", "label": {"zh-CN": "本厂点检", "en": "Plant check"},
              "fields": [{"id": "p1", "key": "item", "type": "text", "label": {"zh-CN": "点检项", "en": "Item"}}],
              "permissions": [{"role": "*", "actions": ["create", "read"]}]}


@pytest.fixture
def catalogue_sees_server_data(server: str, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The pack catalogue finds uploaded packs under get_settings().data_dir (not the app's Settings):
    point it at the test server's data folder, as `mom serve` has both the same."""
    from mom.platform.settings import get_settings

    monkeypatch.setenv("MOM_DATA_DIR", str(next(tmp_path_factory.getbasetemp().glob("ui-data*"))))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_export_the_plant_configuration_and_upload_it(page, server, api, tmp_path, catalogue_sees_server_data) -> None:  # type: ignore[no-untyped-def]
    admin = api()
    r = httpx.put(server + "/api/forms/uitest_plant_check", json=PLANT_FORM, headers=admin.h)
    assert r.status_code == 200, r.text
    login(page, server)
    page.goto(server + "/#/admin/packs")
    page.locator("[data-test=packs]").wait_for()
    # she types a Chinese name only; the pack's identifier and version are made for her
    page.click("[data-test=pack-export]")
    page.fill("[data-test=export-label]", "一厂质量配置")
    with page.expect_download() as dl:
        page.click("[data-test=export-run]")
    saved = tmp_path / dl.value.suggested_filename
    dl.value.save_as(saved)
    assert saved.name == "plant_config-1.0.0.zip"
    with zipfile.ZipFile(saved) as z:
        manifest = json.loads(next(z.read(n) for n in z.namelist() if n.endswith("pack.json")))
        assert any(n.endswith(".json") and b"uitest_plant_check" in z.read(n) for n in z.namelist() if "forms/" in n)
    assert manifest["name"] == "plant_config" and manifest["version"] == "1.0.0"
    assert manifest["label"]["zh-CN"] == "一厂质量配置"
    # uploading it back: the screen names it and opens its install plan
    page.set_input_files("[data-test=pack-upload-file]", str(saved))
    page.locator(".el-message--success", has_text="已上传「一厂质量配置」").wait_for()
    dialog = page.locator(".el-dialog[data-test=plan]")
    dialog.locator(".el-dialog__header", has_text="安装计划：一厂质量配置").wait_for()
    forms = dialog.locator("[data-test=plan-kind-forms]")
    forms.locator(".el-link", has_text="显示").click()       # here already: among the unchanged ones
    forms.get_by_text("本厂点检").wait_for()
    assert page.locator("[data-test=pack-plant_config]").inner_text() == "一厂质量配置"


def test_on_a_phone_each_pack_shows_its_state_and_actions_without_sideways_scrolling(page, server) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, server)
    page.goto(server + "/#/admin/packs")
    card = page.locator("[data-test=pack-card-demo]")
    card.wait_for()
    assert card.locator("[data-test=state-demo]").inner_text() == "已安装"
    action = card.locator("[data-test=uninstall-demo]")
    box = action.bounding_box()
    assert box is not None and action.is_visible() and 0 <= box["x"] and box["x"] + box["width"] <= 390, box
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "packs-phone")
    # the detail takes the whole width, nothing cut off on the left
    card.locator("[data-test=pack-demo]").click()
    drawer = page.locator(".el-drawer[data-test=pack-detail]")
    drawer.locator("[data-test=pack-head]").wait_for()
    page.wait_for_timeout(400)          # the drawer slides in
    box = drawer.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 391, box
    shot(page, "packs-phone-detail")
