"""Package discovery for the `mom` import root (metadata lives in pyproject.toml).

`platform` is a standard-library module, so the top-level folders carry no package of their own
name: each is mapped under `mom` (`platform/` -> `mom.platform` …) and every folder below it is
found here, so a new engine module, pack or connector folder needs no edit of a build file.
Packs and connectors ship as data folders: every file matching PACKAGE_DATA comes along.
Of `ui/` only the committed build (`ui/dist`, as `mom.ui.dist`) ships; its sources, tests,
node_modules and npm files stay out.
"""
from __future__ import annotations

from pathlib import Path

from setuptools import find_namespace_packages, setup

#: top-level folder -> import name under the `mom` root
ROOTS = {"platform": "mom.platform", "engines": "mom.engines",
         "modelpacks": "mom.modelpacks", "connectors": "mom.connectors"}

#: files shipped beside the code (definitions, fixtures, templates, docs, assets)
PACKAGE_DATA = ["*.json", "*.ini", "*.mako", "*.md", "*.csv", "*.tsv", "*.txt", "*.html", "*.xlsx",
                "*.svg", "*.png", "*.jpg", "*.ico", "*.css", "*.js", "*.yaml", "*.yml", "*.toml",
                "*.sql", "*.xml", "*.j2", "*.jinja", "*.ttf", "*.woff", "*.woff2", "*.sha256", "py.typed"]

SKIP = ["__pycache__", "*.__pycache__", "tests", "tests.*", "*.tests", "*.tests.*"]


def data_folders() -> dict[str, list[str]]:
    """Folders whose names are no Python identifier (a pack's ``migrations/2.0.0/``) cannot be packages:
    each ships as data of the package above it, ``{package: ["2.0.0/*", …]}``."""
    out: dict[str, list[str]] = {}
    for folder, name in ROOTS.items():
        for d in sorted(Path(folder).rglob("*")):
            rel = d.relative_to(folder).parts
            if not d.is_dir() or "__pycache__" in rel or any(p.startswith(".") for p in rel):
                continue
            cut = next((i for i, part in enumerate(rel) if not part.isidentifier()), None)
            if cut is not None:
                owner = ".".join((name, *rel[:cut]))
                out.setdefault(owner, []).append("/".join(rel[cut:]) + "/*")
    return out


def discover() -> tuple[list[str], dict[str, str]]:
    """Every package under each root (folders with or without __init__.py) and its source folder."""
    packages: list[str] = []
    package_dir: dict[str, str] = {}
    for folder, name in ROOTS.items():
        package_dir[name] = folder
        packages.append(name)
        packages += [f"{name}.{sub}" for sub in find_namespace_packages(where=folder, exclude=SKIP)]
    # the built web app only: mom.ui is a namespace holding dist/ (routes_ui.ui_dist finds it)
    package_dir["mom.ui"] = "ui"
    packages += ["mom.ui"] + [f"mom.ui.{sub}" for sub in find_namespace_packages(where="ui", include=["dist", "dist.*"])]
    return sorted(packages), package_dir


def data_of(package: str) -> list[str]:
    """Data patterns of one package: everything in the web app's build, nothing else of ui/; the
    package's non-identifier folders whole (DATA_FOLDERS)."""
    if package == "mom.ui":
        return []
    return ["*"] if package.startswith("mom.ui.") else PACKAGE_DATA + DATA_FOLDERS.get(package, [])


PACKAGES, PACKAGE_DIR = discover()
DATA_FOLDERS = data_folders()

setup(
    packages=PACKAGES,
    package_dir=PACKAGE_DIR,
    package_data={name: data_of(name) for name in PACKAGES},
    include_package_data=False,  # only what PACKAGE_DATA names; the ui sources never ride along
)
