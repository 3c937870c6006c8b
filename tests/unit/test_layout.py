"""The import root is `mom`; the standard library's `platform` must stay reachable."""
import platform
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_platform_is_the_standard_library() -> None:
    import mom.platform.settings  # noqa: F401

    assert callable(platform.system) and platform.system()
    assert "site-packages" in platform.__file__ or "lib/python" in platform.__file__


def test_every_python_package_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    roots = {"platform": "mom.platform", "engines": "mom.engines", "modelpacks": "mom.modelpacks", "connectors": "mom.connectors"}
    found = set()
    for top, mod in roots.items():
        for d in (ROOT / top).rglob("*"):
            if d.is_dir() and "__pycache__" not in d.parts and any(d.glob("*.py")) or any(d.glob("*.json")) or any(d.glob("*.csv")):
                found.add(mod + "." + ".".join(d.relative_to(ROOT / top).parts))
        found.add(mod)
    assert found - listed == set(), f"add these to [tool.setuptools] packages: {sorted(found - listed)}"
