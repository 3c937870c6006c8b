"""The packs API (administrators): list, plan, install against the plan's hash (stale: 409 with the
fresh plan), uninstall, export the plant's configuration as a .zip and upload it elsewhere; uploads
that are unsafe, carry code or are too big are refused with words and store nothing."""
from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mom.platform.api.app import create_app
from mom.platform.db.engine import make_engine
from mom.platform.settings import Settings, get_settings
from tests.conftest import login
from tests.templates import Templates


def _shipped(pack: str) -> str:
    """The version of ``pack`` this tree ships."""
    return str(json.loads((Path(__file__).resolve().parents[2] / "modelpacks" / pack / "pack.json").read_text(encoding="utf-8"))["version"])


def _form(name: str, *, extra: bool = False) -> dict[str, Any]:
    fields = [{"id": "w1", "key": "code", "type": "text", "label": {"zh-CN": "编码", "en": "Code"}, "required": True, "max_length": 32},
              {"id": "w2", "key": "title", "type": "text", "label": {"zh-CN": "名称", "en": "Title"}, "max_length": 100}]
    if extra:
        fields.append({"id": "w3", "key": "note", "type": "text", "label": {"zh-CN": "备注", "en": "Note"}, "max_length": 200})
    return {"format": "mom.form/1", "name": name, "label": {"zh-CN": "小部件", "en": "Widget"}, "display_field": "title",
            "fields": fields, "permissions": [{"role": "*", "actions": ["read"]}]}


def write_pack(root: Path, name: str = "mini", version: str = "1.0.0", *, files: dict[str, str] | None = None) -> Path:
    """A small pack folder: one form ``widget`` (and any ``files`` given, by relative path)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "forms").mkdir(exist_ok=True)
    (root / "forms" / "widget.json").write_text(json.dumps(_form("widget"), ensure_ascii=False), encoding="utf-8")
    manifest = {"format": "mom.pack/1", "name": name, "version": version, "label": {"zh-CN": "小包", "en": "Mini"},
                "forms": ["forms/widget.json"]}
    (root / "pack.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    for rel, text in (files or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def zip_of(entries: dict[str, bytes | str], *, links: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in links:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, data)
    return buf.getvalue()


def mini_entries(prefix: str = "", version: str = "1.0.0") -> dict[str, bytes | str]:
    manifest = {"format": "mom.pack/1", "name": "mini", "version": version, "label": {"zh-CN": "小包", "en": "Mini"},
                "forms": ["forms/widget.json"]}
    return {f"{prefix}pack.json": json.dumps(manifest), f"{prefix}forms/widget.json": json.dumps(_form("widget"))}


def upload(client: TestClient, headers: dict[str, str], data: bytes, filename: str = "mini.zip") -> Any:
    return client.post("/api/packs/upload", files={"file": (filename, data, "application/zip")}, headers=headers)


@pytest.fixture
def packs_env(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """MOM_PACK_PATH on a folder of packs in tmp_path (returned); the catalogue's data dir (read from the
    process's settings) is the app's."""
    folder = tmp_path / "packs"
    folder.mkdir()
    monkeypatch.setenv("MOM_PACK_PATH", str(folder))
    monkeypatch.setenv("MOM_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


def _plan(client: TestClient, h: dict[str, str], name: str, action: str = "install", **kw: Any) -> dict[str, Any]:
    r = client.post(f"/api/packs/{name}/plan", json={"action": action, **kw}, headers=h)
    assert r.status_code == 200, r.text
    return r.json()


def test_list_shows_the_demo_pack_and_non_admins_are_refused(plant: Any, packs_env: Path) -> None:
    c = plant.client
    r = c.get("/api/packs", headers=plant.h("admin"))
    assert r.status_code == 200, r.text
    demo = next(p for p in r.json()["packs"] if p["name"] == "demo")
    assert demo["status"] == "installed" and demo["installed_version"] == _shipped("demo") and demo["origin"] == "builtin"
    assert demo["label"]["zh-CN"].startswith("演示")
    r = c.get("/api/packs/demo", headers=plant.h("admin"))
    assert r.status_code == 200, r.text
    assert {"forms", "ncr"} <= {(i["kind"]) for i in r.json()["items"]} | {i["name"] for i in r.json()["items"]}
    qc1 = plant.h("qc1")
    for method, url, body in (("get", "/api/packs", None), ("get", "/api/packs/demo", None),
                              ("post", "/api/packs/demo/plan", {"action": "uninstall"}),
                              ("post", "/api/packs/demo/uninstall", {"confirm": "x"}),
                              ("post", "/api/packs/export", {})):
        r = getattr(c, method)(url, headers=qc1, **({"json": body} if body is not None else {}))
        assert r.status_code == 403, (url, r.text)
        assert "需要管理员权限" in r.json()["message"]["zh-CN"]
    r = upload(c, qc1, zip_of(mini_entries()))
    assert r.status_code == 403
    assert not (packs_env.parent / "data" / "packs" / "mini").exists()
    r = c.get("/api/packs/nosuch", headers=plant.h("admin"))
    assert r.status_code == 404 and "nosuch" in r.json()["message"]["zh-CN"]


def test_plan_then_install_with_the_plans_hash_stale_and_missing_confirm(client: TestClient, admin: dict[str, str],
                                                                         packs_env: Path) -> None:
    root = write_pack(packs_env / "mini")
    plan = _plan(client, admin, "mini")
    assert plan["blocked"] is False and plan["to_version"] == "1.0.0"
    assert [(i["kind"], i["name"], i["change"]) for i in plan["items"]] == [("forms", "widget", "added")]
    assert client.get("/api/forms/widget", headers=admin).status_code == 404        # a plan writes nothing

    r = client.post("/api/packs/mini/install", json={}, headers=admin)
    assert r.status_code == 422 and "请先查看计划" in r.json()["message"]["zh-CN"]
    r = client.post("/api/packs/mini/install", json={"confirm": "0" * 64}, headers=admin)
    assert r.status_code == 409, r.text
    assert r.json()["detail"]["plan"]["hash"] == plan["hash"]

    # the pack changes between plan and confirm: the old hash is refused, the answer is the fresh plan
    (root / "forms" / "widget.json").write_text(json.dumps(_form("widget", extra=True)), encoding="utf-8")
    r = client.post("/api/packs/mini/install", json={"confirm": plan["hash"]}, headers=admin)
    assert r.status_code == 409, r.text
    fresh = r.json()["detail"]["plan"]
    assert fresh["hash"] != plan["hash"] and "计划已经不是最新的" in r.json()["message"]["zh-CN"]
    assert client.get("/api/forms/widget", headers=admin).status_code == 404

    r = client.post("/api/packs/mini/install", json={"confirm": fresh["hash"]}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["plan"]["hash"] == fresh["hash"] and r.json()["lines"]
    form = client.get("/api/forms/widget", headers=admin).json()
    assert "note" in {f["key"] for f in form["definition"]["fields"]}
    mini = next(p for p in client.get("/api/packs", headers=admin).json()["packs"] if p["name"] == "mini")
    assert mini["status"] == "installed" and mini["installed_version"] == "1.0.0" and mini["origin"] == "path"

    # uninstall the same way: plan, confirm; the form is retired (data kept)
    un = _plan(client, admin, "mini", "uninstall")
    assert [(i["name"], i["change"]) for i in un["items"]] == [("widget", "retired")]
    r = client.post("/api/packs/mini/uninstall", json={"confirm": un["hash"]}, headers=admin)
    assert r.status_code == 200, r.text
    assert client.get("/api/forms/widget", headers=admin).status_code == 404
    assert client.get("/api/packs/mini", headers=admin).json()["status"] == "uninstalled"


def test_bad_bodies_are_answered_with_words(client: TestClient, admin: dict[str, str], packs_env: Path) -> None:
    write_pack(packs_env / "mini")
    r = client.post("/api/packs/mini/plan", json={"action": "explode"}, headers=admin)
    assert r.status_code == 422 and "action" in r.text
    blocked = _plan(client, admin, "mini", "upgrade")                        # not installed: a blocked plan
    assert blocked["blocked"] is True and "还没有安装" in blocked["reasons"][0]["zh-CN"]
    r = client.post("/api/packs/mini/upgrade", json={"confirm": blocked["hash"]}, headers=admin)
    assert r.status_code == 409 and "还没有安装" in r.json()["message"]["zh-CN"]
    assert r.json()["detail"]["plan"]["blocked"] is True
    r = client.post("/api/packs/nosuch/plan", json={"action": "install"}, headers=admin)
    assert r.status_code == 404 and "nosuch" in r.json()["message"]["zh-CN"]
    r = client.post("/api/packs/Bad-Name/plan", json={"action": "install"}, headers=admin)
    assert r.status_code == 422
    r = client.post("/api/packs/export", json={"name": "Bad Name"}, headers=admin)
    assert r.status_code == 422
    r = client.post("/api/packs/export", json={"version": "one"}, headers=admin)
    assert r.status_code == 422
    r = client.post("/api/packs/export", json={"label": {"en": "no Chinese"}}, headers=admin)
    assert r.status_code == 422 and "中文" in r.json()["message"]["zh-CN"]
    r = client.post("/api/packs/upload", json={"file": "x"}, headers=admin)     # not a multipart upload
    assert r.status_code == 422
    r = client.post("/api/packs/export", json={}, headers=admin)                # an empty plant: nothing to export
    assert r.status_code == 422 and "没有可导出" in r.json()["message"]["zh-CN"]


def test_export_then_upload_into_another_database_and_install(demo_forms: dict[str, str], client: TestClient,
                                                              db_templates: Templates, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    r = client.post("/api/packs/export", json={"name": "plant_config", "version": "1.2.0",
                                               "label": {"zh-CN": "本厂配置", "en": "Plant configuration"}}, headers=demo_forms)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert 'filename="plant_config-1.2.0.zip"' in r.headers["content-disposition"]
    data = r.content
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert {"pack.json", "CHECKSUMS.sha256", "forms/supplier.json", "forms/item.json", "forms/iqc_inspection.json"} <= set(names)
    again = client.post("/api/packs/export", json={"name": "plant_config", "version": "1.2.0",
                                                   "label": {"zh-CN": "本厂配置", "en": "Plant configuration"}}, headers=demo_forms)
    assert again.content == data                                               # the same configuration, the same bytes

    other = tmp_path / "other"
    other.mkdir()
    with db_templates.database("admin", other) as url:
        monkeypatch.setenv("MOM_DATA_DIR", str(other / "data"))
        get_settings.cache_clear()
        eng = make_engine(url, pool_size=5)
        try:
            with TestClient(create_app(Settings(data_dir=other / "data", database_url=url), eng, migrate=False)) as c2:
                h = login(c2, "admin", "admin-pass-1")
                r = upload(c2, h, data, "plant_config-1.2.0.zip")
                assert r.status_code == 200, r.text
                assert r.json() == {"name": "plant_config", "version": "1.2.0",
                                    "label": {"zh-CN": "本厂配置", "en": "Plant configuration"}}
                listed = next(p for p in c2.get("/api/packs", headers=h).json()["packs"] if p["name"] == "plant_config")
                assert listed["origin"] == "uploaded" and listed["status"] == "available" and listed["modified_files"] == 0
                plan = _plan(c2, h, "plant_config")
                assert {(i["name"], i["change"]) for i in plan["items"]} >= {("supplier", "added"), ("iqc_inspection", "added")}
                r = c2.post("/api/packs/plant_config/install", json={"confirm": plan["hash"]}, headers=h)
                assert r.status_code == 200, r.text
                assert c2.get("/api/forms/iqc_inspection", headers=h).status_code == 200
                r = c2.post("/api/records/supplier", json={"code": "SUP-9", "name": "新供应商"}, headers=h)
                assert r.status_code == 201, r.text
        finally:
            eng.dispose()
            get_settings.cache_clear()


def test_unsafe_zips_and_code_are_refused_and_nothing_is_stored(client: TestClient, admin: dict[str, str], settings: Settings,
                                                                 packs_env: Path) -> None:
    store = Path(settings.data_dir) / "packs"

    def refused(data: bytes, status: int, *words: str) -> None:
        r = upload(client, admin, data)
        assert r.status_code == status, r.text
        body = r.json()
        for w in words:
            assert w in body["message"]["zh-CN"] + json.dumps(body.get("problems", []), ensure_ascii=False), (w, body)
        assert not (store / "mini").exists()
        assert not [p for p in store.iterdir()] if store.exists() else True

    refused(zip_of({**mini_entries(), "../evil.json": "{}"}), 422, "..", "evil.json")
    refused(zip_of({**mini_entries(), "/etc/evil.json": "{}"}), 422, "绝对路径")
    refused(zip_of({**mini_entries(), "forms/link.json": "/etc/passwd"}, links=("forms/link.json",)), 422, "符号链接")
    refused(zip_of({**mini_entries(), "hooks.py": "x = 1\n"}), 422, "程序代码", "hooks.py")
    refused(zip_of({**mini_entries(), "migrations/1.1.0/pre.py": "def migrate(conn, ctx): pass\n"}), 422, "migrations/1.1.0/pre.py")
    refused(zip_of({"forms/widget.json": "{}"}), 422, "pack.json")
    refused(zip_of({**mini_entries("a/"), **mini_entries("b/")}), 422, "pack.json")
    refused(b"this is not a zip at all", 422, "zip")
    refused(b"", 422, "空")
    bad = mini_entries()
    bad["pack.json"] = json.dumps({"format": "mom.pack/1", "name": "mini", "version": "one"})
    refused(zip_of(bad), 422, "pack.json")

    # the limits: unpacked size (a small zip of zeros), the zip's own size, the number of files
    base = client.app.state.settings
    client.app.state.settings = base.model_copy(update={"pack_max_unpacked_bytes": 64 * 1024})
    refused(zip_of({**mini_entries(), "fixtures/big.csv": b"0" * (1 << 20)}), 413, "解压后超过")
    client.app.state.settings = base.model_copy(update={"pack_upload_max_bytes": 2048})
    refused(zip_of({**mini_entries(), "fixtures/noise.bin": os.urandom(8192)}), 413, "超过")
    client.app.state.settings = base.model_copy(update={"pack_max_files": 3})
    refused(zip_of({**mini_entries(), **{f"fixtures/{i}.csv": "a" for i in range(5)}}), 413, "个文件")

    # code allowed by the server: stored (installing it is the administrator's decision)
    client.app.state.settings = base.model_copy(update={"pack_upload_code": True})
    r = upload(client, admin, zip_of({**mini_entries(), "hooks.py": "x = 1\n"}))
    assert r.status_code == 200, r.text
    assert (store / "mini" / "hooks.py").is_file()
    client.app.state.settings = base


def test_an_upload_in_a_top_folder_replaces_the_earlier_one(client: TestClient, admin: dict[str, str], settings: Settings,
                                                            packs_env: Path) -> None:
    store = Path(settings.data_dir) / "packs"
    r = upload(client, admin, zip_of(mini_entries()))
    assert r.status_code == 200 and r.json()["version"] == "1.0.0"
    r = upload(client, admin, zip_of({**mini_entries("mini-1.1.0/", "1.1.0"), "__MACOSX/._pack.json": "junk"}))
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "mini", "version": "1.1.0", "label": {"zh-CN": "小包", "en": "Mini"}}
    assert sorted(p.name for p in store.iterdir()) == ["mini"]                 # no temporary or old folder left
    assert json.loads((store / "mini" / "pack.json").read_text())["version"] == "1.1.0"
    assert not (store / "mini" / "__MACOSX").exists()
    mini = next(p for p in client.get("/api/packs", headers=admin).json()["packs"] if p["name"] == "mini")
    assert mini["version"] == "1.1.0" and mini["origin"] == "uploaded"


def test_installed_packs_hooks_are_registered_at_start_and_a_broken_one_is_only_logged(
        client: TestClient, admin: dict[str, str], settings: Settings, engine: Any, packs_env: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    from mom.engines.packs import startup, steps
    from mom.platform import plugins
    from mom.platform.db.engine import read_tx

    root = write_pack(packs_env / "hooky", "hooky", files={"hooks.py": "LOADED = True\n"})
    pm = plugins.plugin_manager()
    try:
        plan = _plan(client, admin, "hooky")
        r = client.post("/api/packs/hooky/install", json={"confirm": plan["hash"]}, headers=admin)
        assert r.status_code == 200, r.text
        pm.unregister(name="pack:hooky")                                       # as a freshly started process
        with read_tx(engine) as conn:
            assert startup.register_installed(conn) == ["hooky"]
        assert pm.get_plugin("pack:hooky").LOADED is True

        pm.unregister(name="pack:hooky")
        (root / "hooks.py").write_text("raise RuntimeError('broken on purpose')\n", encoding="utf-8")
        with TestClient(create_app(settings, engine, migrate=False)) as c2:    # the server starts anyway
            assert c2.get("/api/health").status_code == 200
        assert pm.get_plugin("pack:hooky") is None
        assert "hooky" in caplog.text and "broken on purpose" in caplog.text
    finally:
        if pm.get_plugin("pack:hooky") is not None:
            pm.unregister(name="pack:hooky")
        steps.forget()                                                         # the cached steps without it


# ---------------------------------------------------------------- hostile uploads (review: issue 18)
def _manifest(name: str = "mini", version: str = "1.0.0", **extra: Any) -> str:
    return json.dumps({"format": "mom.pack/1", "name": name, "version": version, "label": {"zh-CN": "小包", "en": "Mini"},
                       "forms": ["forms/widget.json"], **extra})


def test_huge_versions_and_deep_json_are_refused_before_anything_is_stored(
        client: TestClient, admin: dict[str, str], settings: Settings, packs_env: Path) -> None:
    store = Path(settings.data_dir) / "packs"
    deep = "[" * 100000 + "]" * 100000

    def refused(entries: dict[str, bytes | str], *words: str) -> dict[str, Any]:
        r = upload(client, admin, zip_of(entries))
        assert r.status_code == 422, r.text
        said = r.json()["message"]["zh-CN"] + json.dumps(r.json().get("problems", []), ensure_ascii=False)
        for w in words:
            assert w in said, (w, r.json())
        assert not store.exists() or not list(store.iterdir())                  # nothing stored, no temporary folder
        return r.json()

    form = json.dumps(_form("widget"))
    refused({"pack.json": _manifest(version="1." + "9" * 5000 + ".0"), "forms/widget.json": form}, "最多 32 个")
    refused({"pack.json": _manifest(version="1.0.0-" + "a" * 40), "forms/widget.json": form}, "最多 32 个")
    refused({"pack.json": _manifest(version="1.9999999999.0"), "forms/widget.json": form}, "最多 9 位")
    refused({"pack.json": _manifest()[:-1] + ', "x": ' + deep + "}", "forms/widget.json": form},
            "文件 pack.json 嵌套层数太多（最多 64 层）")
    body = refused({"pack.json": _manifest(), "forms/widget.json": '{"name": "a1", "x": ' + deep + "}"},
                   "文件 forms/widget.json 嵌套层数太多（最多 64 层）", "未保存")
    assert body["problems"][0]["path"] == "forms/widget.json"
    refused({"pack.json": _manifest(name="mini\n"), "forms/widget.json": form}, "名称")

    # folders that got onto the server anyway (an older server, a copy by hand) never break the list or a plan
    write_pack(store / "hugever", "hugever", "1." + "9" * 5000 + ".0")
    write_pack(packs_env / "deepf", "deepf")
    (packs_env / "deepf" / "forms" / "widget.json").write_text('{"name": "a1", "x": ' + deep + "}", encoding="utf-8")
    r = client.get("/api/packs", headers=admin)
    assert r.status_code == 200, r.text
    assert "hugever" not in {p["name"] for p in r.json()["packs"]}
    r = client.post("/api/packs/deepf/plan", json={"action": "install"}, headers=admin)
    assert r.status_code == 422, r.text
    assert "forms/widget.json" in json.dumps(r.json(), ensure_ascii=False) and "嵌套层数太多" in json.dumps(r.json(), ensure_ascii=False)


def test_an_upload_cannot_shadow_a_built_in_or_server_pack(client: TestClient, admin: dict[str, str], settings: Settings,
                                                          packs_env: Path) -> None:
    store = Path(settings.data_dir) / "packs"
    for version in ("99.0.0", "1.0.0"):
        r = upload(client, admin, zip_of({"pack.json": _manifest("demo", version), "forms/widget.json": json.dumps(_form("pwn_form"))}))
        assert r.status_code == 422, r.text
        assert r.json()["message"]["zh-CN"] == "系统自带的模型包 demo 不能用上传的替换；请给上传的包换一个名称"
    write_pack(packs_env / "mini")
    r = upload(client, admin, zip_of(mini_entries(version="2.0.0")))
    assert r.status_code == 422 and "mini 不能用上传的替换" in r.json()["message"]["zh-CN"], r.text
    assert not store.exists() or not list(store.iterdir())
    plan = _plan(client, admin, "demo", "upgrade")
    assert "pwn_form" not in {i["name"] for i in plan["items"]}


def test_an_upload_lower_than_the_installed_version_is_refused(client: TestClient, admin: dict[str, str], settings: Settings,
                                                               packs_env: Path) -> None:
    store = Path(settings.data_dir) / "packs"
    r = upload(client, admin, zip_of(mini_entries(version="2.0.0")))
    assert r.status_code == 200, r.text
    plan = _plan(client, admin, "mini")
    assert client.post("/api/packs/mini/install", json={"confirm": plan["hash"]}, headers=admin).status_code == 200
    r = upload(client, admin, zip_of(mini_entries(version="0.5.0")))
    assert r.status_code == 422, r.text
    assert r.json()["message"]["zh-CN"].startswith("已安装 mini 2.0.0，不能用更低的版本 0.5.0 替换它的文件")
    assert json.loads((store / "mini" / "pack.json").read_text())["version"] == "2.0.0"
    assert sorted(p.name for p in store.iterdir()) == ["mini"]
    r = upload(client, admin, zip_of(mini_entries(version="2.1.0")))            # a higher version: fine
    assert r.status_code == 200 and r.json()["version"] == "2.1.0"


def test_planning_a_pack_needs_the_admin_write_scope(client: TestClient, admin: dict[str, str], packs_env: Path) -> None:
    """Planning loads the pack, which runs its hooks.py: a read-only token may list packs but not plan."""
    write_pack(packs_env / "mini")

    def token(*scopes: str) -> dict[str, str]:
        r = client.post("/api/auth/api-tokens", json={"name": "t", "scopes": list(scopes)}, headers=admin)
        assert r.status_code == 201, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    reader = token("admin:read")
    assert client.get("/api/packs", headers=reader).status_code == 200
    r = client.post("/api/packs/mini/plan", json={"action": "install"}, headers=reader)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope", r.text
    assert "admin:write" in r.json()["message"]["zh-CN"]
    r = client.post("/api/packs/mini/plan", json={"action": "install"}, headers=token("admin:write"))
    assert r.status_code == 200, r.text


def test_an_upload_of_the_installed_version_with_other_content_is_refused(client: TestClient, admin: dict[str, str],
                                                                        settings: Settings, packs_env: Path) -> None:
    assert upload(client, admin, zip_of(mini_entries())).status_code == 200
    plan = _plan(client, admin, "mini")
    assert client.post("/api/packs/mini/install", json={"confirm": plan["hash"]}, headers=admin).status_code == 200
    assert upload(client, admin, zip_of(mini_entries())).status_code == 200           # the very same files: fine
    changed = mini_entries()
    changed["forms/widget.json"] = json.dumps(_form("widget", extra=True))
    r = upload(client, admin, zip_of(changed))
    assert r.status_code == 422, r.text
    assert "上传的同一版本内容却不同：请提高版本号" in r.json()["message"]["zh-CN"]


def test_an_upload_cannot_replace_a_pack_installed_from_a_server_folder(client: TestClient, admin: dict[str, str],
                                                                        engine: Any, tmp_path: Path,
                                                                        packs_env: Path) -> None:
    from mom.engines.packs import manager
    from mom.platform.composition import form_registry

    folder = write_pack(tmp_path / "elsewhere" / "mini")                           # not on MOM_PACK_PATH
    manager.execute(engine, None, "install", str(folder), forms_factory=form_registry)
    r = upload(client, admin, zip_of(mini_entries(version="9.0.0")))
    assert r.status_code == 422, r.text
    assert "是从服务器上的文件夹" in r.json()["message"]["zh-CN"] and "不能用上传的替换" in r.json()["message"]["zh-CN"]
