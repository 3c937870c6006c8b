"""The import root is `mom`; the standard library's `platform` must stay reachable; the build finds
every folder of the shipped trees by itself (setup.py), so none can be forgotten."""
import importlib.util
import platform
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROOTS = {"platform": "mom.platform", "engines": "mom.engines", "modelpacks": "mom.modelpacks",
         "connectors": "mom.connectors"}


def _setup_module():
    spec = importlib.util.spec_from_file_location("mom_setup_under_test", ROOT / "setup.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    import setuptools

    real, setuptools.setup = setuptools.setup, lambda **kw: kw  # read the configuration, build nothing
    try:
        spec.loader.exec_module(module)
    finally:
        setuptools.setup = real
    return module


def test_platform_is_the_standard_library() -> None:
    import mom.platform.settings  # noqa: F401

    assert callable(platform.system) and platform.system()
    assert "site-packages" in platform.__file__ or "lib/python" in platform.__file__


def test_pyproject_lists_no_packages_by_hand() -> None:
    """Discovery lives in setup.py; a hand-written list in pyproject.toml would win over it and go stale."""
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text()).get("tool", {}).get("setuptools", {})
    assert "packages" not in tool and "package-dir" not in tool and "package-data" not in tool


def test_discovery_finds_every_folder() -> None:
    """Every folder below platform/, engines/, modelpacks/, connectors/ (code or data alike) is a
    package of the build, mapped to its own folder; of ui/ only the built dist/ is."""
    setup = _setup_module()
    packages, package_dir = set(setup.PACKAGES), setup.PACKAGE_DIR
    for top, name in ROOTS.items():
        assert package_dir[name] == top
        for d in [ROOT / top, *(ROOT / top).rglob("*")]:
            if not d.is_dir() or "__pycache__" in d.parts or d.name.startswith("."):
                continue
            if not any(f.is_file() for f in d.rglob("*") if "__pycache__" not in f.parts):
                continue  # an empty folder (left by a move) ships nothing
            rel = d.relative_to(ROOT / top).parts
            cut = next((i for i, part in enumerate(rel) if not part.isidentifier()), None)
            if cut is not None:   # a pack's migrations/2.0.0/: data of the package above it, whole
                owner = ".".join((name, *rel[:cut]))
                assert "/".join(rel[cut:]) + "/*" in setup.data_of(owner), f"setup.py does not ship {d.relative_to(ROOT)}"
                continue
            assert ".".join((name, *rel)) in packages, f"setup.py does not find {d.relative_to(ROOT)}"
    ui = {p for p in packages if p.startswith("mom.ui")}
    assert package_dir["mom.ui"] == "ui"
    assert {"mom.ui", "mom.ui.dist", "mom.ui.dist.assets"} <= ui
    assert all(p == "mom.ui" or p.startswith("mom.ui.dist") for p in ui), sorted(ui)


def test_shipped_data_patterns_cover_the_tracked_files() -> None:
    """Each data file in the shipped trees matches a package-data pattern (the wheel test checks the
    real build; this is the quick check)."""
    import fnmatch

    setup = _setup_module()
    for top in ROOTS:
        for f in (ROOT / top).rglob("*"):
            if f.is_file() and f.suffix not in {".py", ".pyc"} and "__pycache__" not in f.parts \
                    and not f.name.startswith("."):
                assert any(fnmatch.fnmatch(f.name, pat) for pat in setup.PACKAGE_DATA), \
                    f"{f.relative_to(ROOT)} would be left out of the wheel: add its pattern to setup.py PACKAGE_DATA"
