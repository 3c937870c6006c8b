"""The wheel carries every tracked file of the shipped trees and nothing of the web app's sources.

The build runs in a temporary copy of the tracked files, so nothing (build/, *.egg-info) is written
into the work tree. Without network: with a setuptools new enough installed (the `test` extra brings
one) it builds without build isolation, in about 3 s.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {"platform": "mom/platform", "engines": "mom/engines", "modelpacks": "mom/modelpacks",
           "connectors": "mom/connectors", "ui/dist": "mom/ui/dist"}
BUILD_FILES = ["pyproject.toml", "setup.py", "README.md", "LICENSE", "MANIFEST.in"]


def _tracked() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git work tree")
    out = subprocess.run(["git", "ls-files", "-z", "--", *SHIPPED, "ui"], cwd=ROOT, check=True,
                         capture_output=True).stdout.decode()
    return [p for p in out.split("\0") if p and (ROOT / p).is_file()]  # a file deleted but not yet committed is skipped


def _isolation_flag() -> list[str]:
    """Build with the installed setuptools when it is new enough (offline, quick); otherwise let pip
    fetch the build requirements from its configured index."""
    try:
        import setuptools
    except ImportError:
        return []
    major = int(setuptools.__version__.split(".")[0])
    return ["--no-build-isolation"] if major >= 77 else []


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    src = tmp_path_factory.mktemp("src")
    out = tmp_path_factory.mktemp("wheel")
    for rel in _tracked() + [f for f in BUILD_FILES if (ROOT / f).is_file()]:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    # what a developer's ui/ holds beside the tracked files must stay out too
    (src / "ui/node_modules/vue").mkdir(parents=True)
    (src / "ui/node_modules/vue/index.js").write_text("export {}\n")
    (src / "ui/node_modules/vue/package.json").write_text("{}\n")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", *_isolation_flag(),
                    "-w", str(out), str(src)], check=True, capture_output=True)
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        return set(z.namelist())


def _installed_name(rel: str) -> str | None:
    for top, target in SHIPPED.items():
        if rel.startswith(top + "/"):
            return target + rel[len(top):]
    return None


@pytest.mark.slow
def test_every_tracked_shipped_file_is_in_the_wheel(wheel_names: set[str]) -> None:
    missing = []
    for rel in _tracked():
        parts = Path(rel).parts
        if "__pycache__" in parts or "tests" in parts or rel.endswith(".pyc"):
            continue
        name = _installed_name(rel)
        if name is not None and name not in wheel_names:
            missing.append(rel)
    assert not missing, f"tracked files left out of the wheel (add their pattern to setup.py): {missing}"


def test_nothing_of_the_ui_sources_is_in_the_wheel(wheel_names: set[str]) -> None:
    ui = sorted(n for n in wheel_names if n.startswith("mom/ui/"))
    assert ui and all(n.startswith("mom/ui/dist/") for n in ui), [n for n in ui if not n.startswith("mom/ui/dist/")]
    assert "mom/ui/dist/index.html" in wheel_names
    assert not any("node_modules" in n or "/src/" in n for n in wheel_names)


def test_the_wheel_holds_only_the_mom_root(wheel_names: set[str]) -> None:
    tops = {n.split("/")[0] for n in wheel_names}
    assert tops == {"mom", "mom_platform-0.1.0.dist-info"}, tops
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in wheel_names)
