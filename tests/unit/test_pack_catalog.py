"""The pack catalogue: packs found built in, on MOM_PACK_PATH and uploaded; by name (highest version)
or by folder; dependencies resolved in install order, with clear refusals."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from mom.engines.packs import catalog
from mom.engines.packs.manifest import Version
from mom.platform.errors import InvalidInput, NotFound
from mom.platform.settings import Settings

#: the packs these tests look at: the built-in demo and the ones they write (other built-in packs, such as
#: core, come and go with the product and are left out of the comparisons)
OURS = {"demo", "qms", "oee", "spc", "mine", "other", "not_other", "gone", "app", "odd", "basis", "a", "b"}


def pack(folder: Path, name: str, version: str, depends: dict[str, str] | None = None, **extra: Any) -> Path:
    """Write a minimal pack folder."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"format": "mom.pack/1", "name": name, "version": version,
                "label": {"zh-CN": f"{name} 包", "en": f"{name} pack"}, **extra}
    if depends:
        manifest["depends"] = depends
    (folder / "pack.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


@pytest.fixture
def shelf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Settings]:
    """A folder of packs on MOM_PACK_PATH and settings whose data dir is the test's own."""
    packs = tmp_path / "packs"
    packs.mkdir()
    monkeypatch.setenv("MOM_PACK_PATH", str(packs))
    return packs, Settings(data_dir=tmp_path / "data")


def names(sources: list[catalog.PackSource]) -> list[str]:
    return [f"{s.name}@{s.version}" for s in sources]


def test_packs_are_found_built_in_on_the_path_and_uploaded(shelf: tuple[Path, Settings], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    packs, settings = shelf
    pack(packs / "qms", "qms", "1.0.0")
    single = pack(tmp_path / "elsewhere" / "oee", "oee", "0.3.0")            # an entry that is itself a pack
    monkeypatch.setenv("MOM_PACK_PATH", os.pathsep.join([str(packs), str(single), str(tmp_path / "missing")]))
    pack(settings.data_dir / "packs" / "spc", "spc", "2.0.0")
    found = {s.name: s for s in catalog.all_sources(settings) if s.name in OURS}
    assert {n: s.origin for n, s in found.items()} == {"demo": "builtin", "qms": "path", "oee": "path", "spc": "uploaded"}
    q = catalog.find("qms", settings)
    assert (q.root, q.origin, q.version, q.label) == (packs / "qms", "path", Version(1, 0, 0),
                                                      {"zh-CN": "qms 包", "en": "qms pack"})
    assert catalog.find("spc", settings).root == settings.data_dir / "packs" / "spc"
    assert catalog.find("demo", settings).origin == "builtin"


def test_the_highest_version_wins(shelf: tuple[Path, Settings]) -> None:
    packs, settings = shelf
    for folder, version in [("basis-a", "1.9.0"), ("basis-b", "1.10.0"), ("basis-c", "1.10.0-rc.1"), ("basis-d", "1.3.0")]:
        pack(packs / folder, "basis", version)
    got = catalog.find("basis", settings)
    assert (got.version, got.root.name) == (Version(1, 10, 0), "basis-b")


def test_a_folder_path_is_a_given_pack(shelf: tuple[Path, Settings], tmp_path: Path) -> None:
    _, settings = shelf
    folder = pack(tmp_path / "mine", "mine", "0.1.0", label="旧写法的标签")
    for target in (folder, str(folder)):
        got = catalog.find(target, settings)
        assert (got.name, got.origin, got.label["en"]) == ("mine", "given", "旧写法的标签")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput, match="没有 pack.json"):
        catalog.find(tmp_path / "empty", settings)
    with pytest.raises(NotFound, match="找不到模型包文件夹"):
        catalog.find(str(tmp_path / "nowhere"), settings)


def test_an_unknown_name_says_what_there_is(shelf: tuple[Path, Settings]) -> None:
    packs, settings = shelf
    pack(packs / "qms", "qms", "1.0.0")
    with pytest.raises(NotFound) as e:
        catalog.find("qmss", settings)
    assert '"qms"' in e.value.zh and "demo" in e.value.zh and [n for n in e.value.detail["available"] if n in OURS] == ["demo", "qms"]


def test_a_bad_manifest_is_left_out_of_the_list_and_refused_by_path(shelf: tuple[Path, Settings]) -> None:
    packs, settings = shelf
    bad = pack(packs / "bad", "Bad Name", "1.0", forms=["forms/missing.json"])
    errors: list[tuple[Path, InvalidInput]] = []
    assert "Bad Name" not in [s.manifest["name"] for s in catalog.all_sources(settings, errors=errors)]
    assert [(f, len(exc.problems)) for f, exc in errors] == [(bad, 3)]
    with pytest.raises(InvalidInput) as e:
        catalog.find(bad, settings)
    assert sorted(p.path for p in e.value.problems) == ["pack.json: 名称", "pack.json: 版本", "pack.json: 表单 第 1 项"]


def test_dependencies_come_first_at_the_highest_fitting_version(shelf: tuple[Path, Settings]) -> None:
    packs, settings = shelf
    pack(packs / "app", "app", "1.0.0", {"qms": "^1.0.0", "base": "~2.1.0"})
    pack(packs / "qms-1", "qms", "1.4.0", {"base": ">=2.0.0 <3.0.0"})
    pack(packs / "qms-2", "qms", "2.0.0", {"base": "^3.0.0"})
    for v in ("2.0.5", "2.1.0", "2.1.7", "2.2.0"):
        pack(packs / f"base-{v}", "base", v)
    app = catalog.find("app", settings)
    assert names(catalog.resolve(app, {}, settings)) == ["base@2.1.7", "qms@1.4.0", "app@1.0.0"]
    # an installed dependency that fits is left alone
    assert names(catalog.resolve(app, {"base": "2.1.0"}, settings)) == ["qms@1.4.0", "app@1.0.0"]
    assert names(catalog.resolve(app, {"base": "2.1.0", "qms": "1.2.0"}, settings)) == ["app@1.0.0"]


def test_an_installed_dependency_too_old_is_refused_naming_the_upgrade(shelf: tuple[Path, Settings]) -> None:
    packs, settings = shelf
    pack(packs / "qms", "qms", "1.0.0", {"basis": "^2.0.0"})
    pack(packs / "basis-2", "basis", "2.1.0")
    pack(packs / "basis-1", "basis", "1.3.0")
    with pytest.raises(InvalidInput) as e:
        catalog.resolve(catalog.find("qms", settings), {"basis": "1.3.0"}, settings)
    assert e.value.zh == "模型包 qms 需要 basis ^2.0.0，已安装的是 1.3.0：请先升级 basis（可用版本 2.1.0）"
    assert "upgrade basis first (version 2.1.0 is available)" in e.value.en


def test_a_dependency_missing_or_without_a_fitting_version_is_refused(shelf: tuple[Path, Settings]) -> None:
    packs, settings = shelf
    pack(packs / "qms", "qms", "1.0.0", {"basis": "^2.0.0"})
    qms = catalog.find("qms", settings)
    with pytest.raises(InvalidInput) as e:
        catalog.resolve(qms, {}, settings)
    assert "需要 basis ^2.0.0" in e.value.zh and "没有找到模型包 basis" in e.value.zh and "MOM_PACK_PATH" in e.value.en
    pack(packs / "basis-1", "basis", "1.3.0")
    pack(packs / "basis-3", "basis", "3.0.0")
    with pytest.raises(InvalidInput) as e:
        catalog.resolve(qms, {}, settings)
    assert "需要 basis ^2.0.0" in e.value.zh and "1.3.0、3.0.0" in e.value.zh
    assert e.value.detail["found"] == ["1.3.0", "3.0.0"]


def test_two_packs_needing_different_versions_of_one_are_refused(shelf: tuple[Path, Settings]) -> None:
    packs, settings = shelf
    pack(packs / "app", "app", "1.0.0", {"a": "*", "b": "*"})
    pack(packs / "a", "a", "1.0.0", {"basis": "^1.0.0"})
    pack(packs / "b", "b", "1.0.0", {"basis": "^2.0.0"})
    pack(packs / "basis-1", "basis", "1.5.0")
    pack(packs / "basis-2", "basis", "2.0.0")
    with pytest.raises(InvalidInput) as e:
        catalog.resolve(catalog.find("app", settings), {}, settings)
    assert "模型包 b 需要 basis ^2.0.0" in e.value.zh and "1.5.0" in e.value.zh


def test_a_dependency_cycle_is_refused_naming_it(shelf: tuple[Path, Settings]) -> None:
    packs, settings = shelf
    pack(packs / "a", "a", "1.0.0", {"b": "^1.0.0"})
    pack(packs / "b", "b", "1.0.0", {"c": "*"})
    pack(packs / "c", "c", "1.0.0", {"a": ">=1.0.0"})
    with pytest.raises(InvalidInput) as e:
        catalog.resolve(catalog.find("a", settings), {}, settings)
    assert "a -> b -> c -> a" in e.value.zh and e.value.detail["cycle"] == ["a", "b", "c", "a"]


def test_dependents_are_the_installed_packs_that_need_a_pack() -> None:
    installed = {"basis": {"depends": {}, "status": "installed"},
                 "qms": {"depends": {"basis": "^1.0.0"}, "status": "installed"},
                 "spc": {"depends": {"basis": "*", "qms": "^1"}, "status": "installed"},
                 "old": {"depends": {"basis": "*"}, "status": "uninstalled"}}
    assert catalog.dependents("basis", installed) == ["qms", "spc"]
    assert catalog.dependents("qms", installed) == ["spc"]
    assert catalog.dependents("spc", installed) == []


# ---------------------------------------------------------------- hostile folders (review: issue 18)
def test_one_bad_folder_never_breaks_the_list(shelf: tuple[Path, Settings], monkeypatch: pytest.MonkeyPatch) -> None:
    """A stored pack whose version made int() raise, a pack.json nested 100,000 deep, a folder whose reading
    fails for any other reason: each is left out and reported, the rest of the catalogue is listed."""
    packs, settings = shelf
    pack(packs / "qms", "qms", "1.0.0")
    huge = pack(settings.data_dir / "packs" / "hugever", "hugever", "1." + "9" * 5000 + ".0")
    deep = settings.data_dir / "packs" / "deep"
    deep.mkdir(parents=True)
    (deep / "pack.json").write_text('{"name": "deep", "x": ' + "[" * 100000 + "]" * 100000 + "}", encoding="utf-8")
    odd = pack(packs / "odd", "odd", "1.0.0")
    real = catalog.read_manifest

    def flaky(folder: Path) -> dict[str, Any]:
        if Path(folder).name == "odd":
            raise RuntimeError("disk on fire")
        return real(folder)

    monkeypatch.setattr(catalog, "read_manifest", flaky)
    errors: list[tuple[Path, InvalidInput]] = []
    assert sorted(s.name for s in catalog.all_sources(settings, errors=errors) if s.name in OURS) == ["demo", "qms"]
    said = {f.name: exc for f, exc in errors}
    assert set(said) == {huge.name, deep.name, odd.name}
    assert "最多 32 个" in str(said["hugever"].problems) and "嵌套层数太多" in said["deep"].zh
    assert "disk on fire" in said["odd"].en and "odd" in said["odd"].zh
    assert catalog.find("qms", settings).name == "qms"


def test_an_upload_never_outranks_a_built_in_or_server_pack_of_the_same_version(shelf: tuple[Path, Settings]) -> None:
    packs, settings = shelf
    pack(settings.data_dir / "packs" / "demo", "demo", "1.0.0")               # an upload named like the built-in
    assert catalog.find("demo", settings).origin == "builtin"
    pack(packs / "basis", "basis", "1.0.0")
    pack(settings.data_dir / "packs" / "basis", "basis", "1.0.0")
    assert catalog.find("basis", settings).origin == "path"


def test_a_name_means_the_catalogue_never_a_folder_in_the_current_directory(
        shelf: tuple[Path, Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, settings = shelf
    work = tmp_path / "cwd"
    pack(work / "mine", "mine", "0.1.0")
    monkeypatch.chdir(work)
    with pytest.raises(NotFound) as e:
        catalog.find("mine", settings)
    assert "./mine" in e.value.zh and "./mine" in e.value.en
    assert catalog.find("./mine", settings).origin == "given"
    assert catalog.find(Path("mine"), settings).root == work / "mine"
    with pytest.raises(NotFound):
        catalog.find("demo\n", settings)                                         # a trailing newline is not a name
    assert catalog.is_path("a/b") and catalog.is_path(".x") and catalog.is_path(Path("x")) and not catalog.is_path("x")


def test_a_pack_installed_from_its_own_folder_is_found_by_name(shelf: tuple[Path, Settings], tmp_path: Path) -> None:
    _, settings = shelf
    mine = pack(tmp_path / "elsewhere" / "mine", "mine", "0.2.0")
    renamed = pack(tmp_path / "elsewhere" / "other", "not_other", "1.0.0")
    rows = {"mine": str(mine), "other": str(renamed), "gone": str(tmp_path / "gone"), "demo": None}
    with pytest.raises(NotFound):
        catalog.find("mine", settings)
    got = catalog.find("mine", settings, installed_sources=rows)
    assert (got.origin, got.root, str(got.version)) == ("installed", mine, "0.2.0")
    listed = {s.name: s.origin for s in catalog.all_sources(settings, installed_sources=rows) if s.name in OURS}
    assert listed == {"demo": "builtin", "mine": "installed"}                  # a folder now holding another pack: left out
    # the built-in folder remembered as a row's source is listed once, as built in
    demo_root = str(catalog.find("demo", settings).root)
    assert [s.origin for s in catalog.all_sources(settings, installed_sources={"demo": demo_root}) if s.name == "demo"] == ["builtin"]
    app = pack(tmp_path / "shelf2" / "app", "app", "1.0.0", {"mine": "^0.2.0"})
    assert names(catalog.resolve(catalog.find(app, settings), {}, settings, installed_sources=rows)) == ["mine@0.2.0", "app@1.0.0"]
