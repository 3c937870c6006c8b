"""A pack's manifest (pack.json), the semantic versions and ranges it names, and its CHECKSUMS.sha256.

The range examples are npm's own, from the node-semver README
(https://github.com/npm/node-semver#advanced-range-syntax): each shorthand must accept exactly what
its documented expansion accepts, and the README's "would be allowed / would not" cases hold.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from mom.engines.packs import checksums
from mom.engines.packs.manifest import Version, parse_range, parse_version, read_manifest
from mom.platform.errors import InvalidInput

DEMO = Path(__file__).resolve().parents[2] / "modelpacks" / "demo"

# ---------------------------------------------------------------- versions


def test_versions_sort_as_semver_says() -> None:
    """semver.org 11: 1.0.0-alpha < 1.0.0-alpha.1 < … < 1.0.0-rc.1 < 1.0.0; numbers compare as numbers."""
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
               "1.0.0-rc.1", "1.0.0", "1.9.0", "1.10.0", "2.0.0", "2.1.0", "2.1.1"]
    shuffled = list(reversed(ordered))
    assert [str(v) for v in sorted(map(parse_version, shuffled))] == ordered
    assert parse_version("1.2.0") == Version(1, 2, 0)
    assert max(map(parse_version, ["1.3.0", "2.1.0", "1.10.0"])) == Version(2, 1, 0)


@pytest.mark.parametrize("bad", ["1.2", "1", "01.2.3", "1.2.3.4", "v1.2.3", "1.2.3+build.5", "1.2.x", "", "latest"])
def test_a_bad_version_names_the_text_and_an_example(bad: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse_version(bad)
    assert repr(bad) in e.value.zh and "1.2.0" in e.value.zh and "1.2.0" in e.value.en


# ---------------------------------------------------------------- ranges: npm's README, shorthand vs expansion
NPM_EXPANSIONS = [
    # caret
    ("^1.2.3", ">=1.2.3 <2.0.0-0"), ("^0.2.3", ">=0.2.3 <0.3.0-0"), ("^0.0.3", ">=0.0.3 <0.0.4-0"),
    ("^1.2.3-beta.2", ">=1.2.3-beta.2 <2.0.0-0"), ("^0.0.3-beta", ">=0.0.3-beta <0.0.4-0"),
    ("^1.2.x", ">=1.2.0 <2.0.0-0"), ("^0.0.x", ">=0.0.0 <0.1.0-0"), ("^0.0", ">=0.0.0 <0.1.0-0"),
    ("^1.x", ">=1.0.0 <2.0.0-0"), ("^0.x", ">=0.0.0 <1.0.0-0"),
    # tilde
    ("~1.2.3", ">=1.2.3 <1.3.0-0"), ("~1.2", ">=1.2.0 <1.3.0-0"), ("~1", ">=1.0.0 <2.0.0-0"),
    ("~0.2.3", ">=0.2.3 <0.3.0-0"), ("~0.2", ">=0.2.0 <0.3.0-0"), ("~0", ">=0.0.0 <1.0.0-0"),
    ("~1.2.3-beta.2", ">=1.2.3-beta.2 <1.3.0-0"),
    # x-ranges
    ("*", ">=0.0.0"), ("1.x", ">=1.0.0 <2.0.0-0"), ("1.2.x", ">=1.2.0 <1.3.0-0"), ("", ">=0.0.0"),
    ("1", ">=1.0.0 <2.0.0-0"), ("1.2", ">=1.2.0 <1.3.0-0"),
    # hyphen ranges
    ("1.2.3 - 2.3.4", ">=1.2.3 <=2.3.4"), ("1.2 - 2.3.4", ">=1.2.0 <=2.3.4"),
    ("1.2.3 - 2.3", ">=1.2.3 <2.4.0-0"), ("1.2.3 - 2", ">=1.2.3 <3.0.0-0"),
]
GRID = [f"{a}.{b}.{c}" for a in range(4) for b in range(5) for c in range(5)] + [
    "1.2.3-beta.1", "1.2.3-beta.2", "1.2.3-beta.4", "1.2.4-beta.2", "0.0.3-pr.2", "0.0.3-beta", "2.0.0-0",
    "2.0.0-rc.1", "1.3.0-0", "10.0.0", "1.10.0"]


@pytest.mark.parametrize(("short", "long"), NPM_EXPANSIONS)
def test_a_range_accepts_what_npm_documents(short: str, long: str) -> None:
    a, b = parse_range(short), parse_range(long)
    assert [v for v in GRID if a.matches(v)] == [v for v in GRID if b.matches(v)]


@pytest.mark.parametrize(("text", "yes", "no"), [
    ("^1.2.3", ["1.2.3", "1.9.9"], ["1.2.2", "2.0.0", "2.0.0-rc.1"]),
    ("^0.2.3", ["0.2.3", "0.2.9"], ["0.3.0", "0.2.2"]),               # ^0.x: only patches
    ("^0.0.3", ["0.0.3"], ["0.0.4", "0.0.2"]),
    ("^1.2.3-beta.2", ["1.2.3-beta.4", "1.2.3"], ["1.2.4-beta.2", "1.2.3-beta.1"]),  # README's own cases
    ("~1.2.3-beta.2", ["1.2.3-beta.4"], ["1.2.4-beta.2"]),
    ("^0.0.3-beta", ["0.0.3-pr.2"], ["0.0.4"]),
    (">1.2.3-alpha.3", ["1.2.3-alpha.7", "3.4.5"], ["3.4.5-alpha.9", "1.2.3-alpha.3"]),
    (">=1.2.7", ["1.2.7", "1.2.8", "2.5.3", "1.3.9"], ["1.2.6", "1.1.0"]),
    (">=1.2.7 <1.3.0", ["1.2.7", "1.2.8", "1.2.99"], ["1.2.6", "1.3.0", "1.1.0"]),
    ("1.2.7 || >=1.2.9 <2.0.0", ["1.2.7", "1.2.9", "1.4.6"], ["1.2.8", "2.0.0"]),
    ("1.x || >=2.5.0 || 5.0.0 - 7.2.3", ["1.2.3", "2.5.0", "7.2.3"], ["2.4.9", "0.9.0"]),   # the README's usage line
    ("1.2.3", ["1.2.3"], ["1.2.4", "1.2.3-rc.1"]),
    ("=1.2.3", ["1.2.3"], ["1.2.2"]),
    ("*", ["0.0.1", "99.0.0"], ["1.0.0-rc.1"]),                      # * takes no pre-release
    (">= 1.0.0  <  2.0.0", ["1.5.0"], ["2.0.0"]),                    # spaces after an operator
])
def test_range_matches(text: str, yes: list[str], no: list[str]) -> None:
    r = parse_range(text)
    assert [v for v in yes if r.matches(v)] == yes
    assert [v for v in no if r.matches(parse_version(v))] == []


def test_a_range_shows_as_written() -> None:
    assert str(parse_range("^2.0.0")) == "^2.0.0"
    assert str(parse_range(">=1.0.0   <2.0.0||3.x")) == ">=1.0.0 <2.0.0 || 3.x"


@pytest.mark.parametrize("bad", ["^^1", ">=1.0.0 <", "1.2.3.4", "abc", "1.0.0 -", "~>1.0", "1.x.3-beta"])
def test_a_bad_range_says_how_to_write_one(bad: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse_range(bad)
    assert repr(bad) in e.value.zh and "^1.2.0" in e.value.zh and "||" in e.value.en


# ---------------------------------------------------------------- read_manifest
def _write(root: Path, manifest: object, files: tuple[str, ...] = ()) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pack.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    for f in files:
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).write_text("{}", encoding="utf-8")
    return root


def test_the_demo_pack_manifest_is_valid() -> None:
    m = read_manifest(DEMO)
    assert m["name"] == "demo" and parse_version(m["version"]) >= Version(1, 0, 0)


def test_a_good_manifest_with_old_and_plugin_keys_is_read(tmp_path: Path) -> None:
    root = _write(tmp_path / "q", {"format": "mom.pack/1", "name": "quality", "version": "1.2.0-beta.1",
                                   "label": "质量（旧写法：文字）", "description": {"zh-CN": "说明", "en": "about"},
                                   "depends": {"core": "^1.0.0 || 2.x"}, "forms": ["forms/a.json"],
                                   "demo": [{"form": "a", "file": "demo/a.csv", "key": "code"}],
                                   "labels": ["a plug-in step's own key"]},
                  ("forms/a.json", "demo/a.csv"))
    assert read_manifest(root)["depends"] == {"core": "^1.0.0 || 2.x"}


def test_a_bad_manifest_lists_every_problem_at_a_readable_place(tmp_path: Path) -> None:
    root = _write(tmp_path / "bad", {
        "format": "mom.pack/2", "name": "Quality-Pack", "version": "1.2", "label": {"en": "Quality"},
        "depends": {"core": "^^1"}, "forms": ["../outside.json", "/etc/passwd", "forms/missing.json"],
        "roles": [{"name": "qc", "label": {"zh-CN": "质检"}, "rights": []}],
        "fixtures": [{"form": "supplier", "file": "fixtures/supplier.csv", "as_usr": "qc1"}]})
    with pytest.raises(InvalidInput) as e:
        read_manifest(root)
    got = {p.path: p for p in e.value.problems}
    assert set(got) == {"pack.json: 格式", "pack.json: 名称", "pack.json: 版本", "pack.json: 显示名", "pack.json: 依赖 core",
                        "pack.json: 表单 第 1 项", "pack.json: 表单 第 2 项", "pack.json: 表单 第 3 项",
                        "pack.json: 角色 第 1 项 rights", "pack.json: 基础数据 第 1 项 as_usr",
                        "pack.json: 基础数据 第 1 项 文件"}, sorted(got)
    assert "1.2.0" in got["pack.json: 版本"].zh and "'1.2'" in got["pack.json: 版本"].zh
    assert "zh-CN" in got["pack.json: 显示名"].zh
    assert "^^1" in got["pack.json: 依赖 core"].zh
    assert ".." in got["pack.json: 表单 第 1 项"].zh and got["pack.json: 表单 第 2 项"].code == "path"
    assert "forms/missing.json" in got["pack.json: 表单 第 3 项"].zh
    assert "as_user" in got["pack.json: 基础数据 第 1 项 as_usr"].zh          # did you mean
    assert "fixtures/supplier.csv" in got["pack.json: 基础数据 第 1 项 文件"].en
    assert "11" in e.value.zh and "Quality-Pack" in e.value.zh


def test_no_manifest_or_broken_json_is_said_plainly(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="没有 pack.json"):
        read_manifest(tmp_path)
    (tmp_path / "pack.json").write_text('{"name": "x",}', encoding="utf-8")
    with pytest.raises(InvalidInput, match="第 1 行"):
        read_manifest(tmp_path)


def test_a_pack_cannot_depend_on_itself(tmp_path: Path) -> None:
    root = _write(tmp_path / "a", {"format": "mom.pack/1", "name": "a", "version": "1.0.0", "label": "A",
                                   "depends": {"a": "*"}})
    with pytest.raises(InvalidInput) as e:
        read_manifest(root)
    assert [p.path for p in e.value.problems] == ["pack.json: 依赖 a"]


# ---------------------------------------------------------------- hostile manifests (review: issue 18)
@pytest.mark.parametrize("bad, words", [
    ("1." + "9" * 5000 + ".0", "最多 32 个"),          # int() of 5000 digits raised ValueError: a 500 and a broken list
    ("1.0.0-" + "a" * 40, "最多 32 个"),                # mom_pack.version is 32 characters
    ("1.9999999999.0", "最多 9 位"),
])
def test_a_huge_version_is_refused_with_words(tmp_path: Path, bad: str, words: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse_version(bad)
    assert words in e.value.zh and "1.2.0" in e.value.en and len(e.value.zh) < 200
    root = _write(tmp_path / "v", {"format": "mom.pack/1", "name": "v", "version": bad, "label": "V"})
    with pytest.raises(InvalidInput) as e:
        read_manifest(root)
    assert [(p.path, words in p.zh) for p in e.value.problems] == [("pack.json: 版本", True)]   # said once
    assert parse_version("999999999.0.0-rc.1") == Version(999999999, 0, 0, ("rc", 1))


def test_a_range_with_huge_numbers_is_a_bad_range() -> None:
    for bad in ("^1" + "0" * 5000, ">=1.0.0-" + "a" * 40, "1." + "9" * 12 + ".x"):
        with pytest.raises(InvalidInput, match="版本范围"):
            parse_range(bad)


@pytest.mark.parametrize("where, text", [
    ("pack.json", '{"format": "mom.pack/1", "name": "deep", "version": "1.0.0", "label": "x", "x": ' + "[" * 100000 + "]" * 100000 + "}"),
    ("pack.json", '{"format": "mom.pack/1", "name": "deep", "version": "1.0.0", "label": "x", "x": ' + "[" * 65 + "]" * 65 + "}"),
])
def test_deeply_nested_json_is_refused_naming_the_file(tmp_path: Path, where: str, text: str) -> None:
    (tmp_path / where).write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput) as e:
        read_manifest(tmp_path)
    assert e.value.zh == "文件 pack.json 嵌套层数太多（最多 64 层）：请检查文件内容是否正确"
    assert e.value.problems[0].path == "pack.json" and "64" in e.value.en


def test_the_bounded_reader_allows_64_levels_and_refuses_big_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mom.engines.packs import jsonfile

    f = tmp_path / "a.json"
    f.write_text("[" * 64 + "]" * 64, encoding="utf-8")
    assert jsonfile.depth(jsonfile.read_json(f, "forms/a.json")) == 64
    f.write_text('{"a": [' * 33 + "1" + "]}" * 33, encoding="utf-8")          # 66 levels of objects and lists
    with pytest.raises(InvalidInput, match="文件 forms/a.json 嵌套层数太多（最多 64 层）"):
        jsonfile.read_json(f, "forms/a.json")
    monkeypatch.setattr(jsonfile, "MAX_BYTES", 10)
    f.write_text('{"name": "a long enough file"}', encoding="utf-8")
    with pytest.raises(InvalidInput, match="文件 forms/a.json 太大"):
        jsonfile.read_json(f, "forms/a.json")


def test_a_name_with_a_trailing_newline_is_not_a_name(tmp_path: Path) -> None:
    root = _write(tmp_path / "nl", {"format": "mom.pack/1", "name": "evil\n", "version": "1.0.0\n", "label": "E",
                                    "depends": {"demo\n": "*"}})
    with pytest.raises(InvalidInput) as e:
        read_manifest(root)
    got = {p.path: p for p in e.value.problems}
    assert set(got) == {"pack.json: 名称", "pack.json: 版本", "pack.json: 依赖 demo\n"}, sorted(got)
    assert "小写字母" in got["pack.json: 名称"].zh and "换行" in got["pack.json: 版本"].zh


def test_missing_keys_and_dependency_names_are_worded_for_a_reader(tmp_path: Path) -> None:
    """Review: 「缺少必填属性：'label' is a required property」 mixed English into the Chinese, and a
    dependency named demo was shown as 演示数据 (the label of the manifest's own "demo" key)."""
    root = _write(tmp_path / "w", {"format": "mom.pack/1", "name": "w", "version": "1.0.0", "depends": {"demo": "^^1"},
                                   "fixtures": [{"file": "a.csv"}]}, ("a.csv",))
    with pytest.raises(InvalidInput) as e:
        read_manifest(root)
    got = {(p.path, p.zh, p.en) for p in e.value.problems}
    assert ("pack.json", "缺少 显示名（label）：请补上", "missing label: add it") in got
    assert ("pack.json: 基础数据 第 1 项", "缺少 表单（form）：请补上", "missing form: add it") in got
    assert {p.path for p in e.value.problems} == {"pack.json", "pack.json: 基础数据 第 1 项", "pack.json: 依赖 demo"}
    assert not [zh for _, zh, _ in got if "required property" in zh]


# ---------------------------------------------------------------- checksums
@pytest.mark.parametrize("name", ["demo", "core"])
def test_the_built_in_pack_checksums_are_up_to_date(name: str) -> None:
    """CHECKSUMS.sha256 of each built-in pack says exactly what its files are (an installed pack's edited
    files are found against it)."""
    root = DEMO.parent / name
    recorded = checksums.read(root)
    assert recorded is not None, f"modelpacks/{name} has no CHECKSUMS.sha256: run `mom pack checksums modelpacks/{name}`"
    diff = checksums.modified(root, recorded)
    assert diff == {"modified": [], "missing": [], "added": []}, \
        f"modelpacks/{name}/CHECKSUMS.sha256 is out of date ({diff}): run `mom pack checksums modelpacks/{name}`"


def test_checksums_cover_the_pack_files_only(tmp_path: Path) -> None:
    _write(tmp_path, {"format": "mom.pack/1"}, ("forms/a.json", "hooks.py", "fixtures/a b.csv"))
    for junk in ("__pycache__/hooks.cpython-311.pyc", "hooks.pyc", ".git/HEAD", ".DS_Store", "forms/.a.json.swp"):
        (tmp_path / junk).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / junk).write_text("x")
    path = checksums.write(tmp_path)
    assert path == tmp_path / "CHECKSUMS.sha256"
    assert sorted(checksums.compute(tmp_path)) == ["fixtures/a b.csv", "forms/a.json", "hooks.py", "pack.json"]
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [line.split("  ", 1)[1] for line in lines] == ["fixtures/a b.csv", "forms/a.json", "hooks.py", "pack.json"]
    assert checksums.read(tmp_path) == checksums.compute(tmp_path)
    if shutil.which("sha256sum"):   # the file is what sha256sum itself checks
        subprocess.run(["sha256sum", "-c", "--quiet", "CHECKSUMS.sha256"], cwd=tmp_path, check=True)


def test_modified_names_changed_missing_and_added_files(tmp_path: Path) -> None:
    _write(tmp_path, {"format": "mom.pack/1"}, ("forms/a.json", "forms/b.json", "forms/c.json"))
    checksums.write(tmp_path)
    expected = checksums.read(tmp_path)
    assert checksums.read(tmp_path / "forms") is None
    (tmp_path / "forms/b.json").write_text('{"edited": true}')
    (tmp_path / "forms/a.json").unlink()
    (tmp_path / "forms/z.json").write_text("{}")
    (tmp_path / "new.csv").write_text("code\n")
    assert checksums.modified(tmp_path, expected) == {"modified": ["forms/b.json"], "missing": ["forms/a.json"],
                                                      "added": ["forms/z.json", "new.csv"]}


def test_a_malformed_checksums_file_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "CHECKSUMS.sha256").write_text(f"{'0' * 64}  pack.json\nnot a checksum line\n")
    with pytest.raises(InvalidInput, match="第 2 行"):
        checksums.read(tmp_path)


def test_checksums_refuse_what_is_not_a_pack(tmp_path: Path) -> None:
    many = tmp_path / "many"
    many.mkdir()
    for i in range(checksums.MAX_FILES + 1):
        (many / f"{i}.json").touch()
    with pytest.raises(InvalidInput, match="5000"):
        checksums.compute(many)
    big = tmp_path / "big"
    big.mkdir()
    with open(big / "video.mp4", "wb") as fh:     # sparse: no disk used
        fh.truncate(checksums.MAX_FILE_BYTES + 1)
    with pytest.raises(InvalidInput) as e:
        checksums.compute(big)
    assert "video.mp4" in e.value.zh and "50 MB" in e.value.zh
    with pytest.raises(InvalidInput, match="不存在"):
        checksums.compute(tmp_path / "nowhere")
