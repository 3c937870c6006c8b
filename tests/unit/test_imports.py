"""The package graph holds (docs/architecture.md, "Package graph").

import-linter checks the contracts of pyproject.toml (``[tool.importlinter]``) over every import of
the ``mom`` packages, also one written inside a function (only ``if TYPE_CHECKING:`` imports are left
out). A broken contract fails here with import-linter's report: the rule, and each import (with its
line and the chain it travels) that breaks it.

The editable install maps ``mom.*`` through an import hook that import-linter (grimp) cannot walk,
so the checks read the sources through a ``mom`` folder of links in a temporary directory.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: source folders under the ``mom`` root that hold Python modules (packs are data: docs/architecture.md)
CODE = ("platform", "engines", "connectors")

LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
GRAPH = ("import json, grimp; g = grimp.build_graph('mom', exclude_type_checking_imports=True, cache_dir=None); "
         "print(json.dumps(sorted(g.modules)))")


def _tree(base: Path, replace: dict[str, Path] | None = None) -> Path:
    """``base/mom/<folder>`` linked to each source folder (or to ``replace[folder]``)."""
    (base / "mom").mkdir(parents=True)
    for folder in (*CODE, "modelpacks"):
        (base / "mom" / folder).symlink_to((replace or {}).get(folder, ROOT / folder), target_is_directory=True)
    return base


def _run(tree: Path, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(tree), os.environ.get("PYTHONPATH")) if p)}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=120)


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return _run(tree, LINT, "--config", str(ROOT / "pyproject.toml"), "--no-cache", "--no-logo")


def _broken(out: str) -> str:
    """The part of import-linter's report that names the broken rules and imports."""
    at = out.find("Broken contracts")
    return out[at:] if at >= 0 else out


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tree(tmp_path_factory.mktemp("graph"))


def test_every_module_is_in_the_graph(tree: Path) -> None:
    """A folder the graph cannot see (e.g. a package folder without ``__init__.py`` inside a regular
    package) would escape the contracts silently."""
    done = _run(tree, GRAPH)
    assert done.returncode == 0, done.stderr
    seen = set(json.loads(done.stdout))
    expected = set()
    for folder in CODE:
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "__pycache__" in parts:
                continue
            expected.add(".".join(("mom", *parts[:-1], *(() if parts[-1] == "__init__" else parts[-1:]))))
    missing = sorted(expected - seen)
    assert not missing, ("import-linter does not see these modules (give their folder an __init__.py): "
                         + ", ".join(missing))


def test_the_import_contracts_hold(tree: Path) -> None:
    done = _lint(tree)
    assert "Contracts:" in done.stdout, done.stdout + done.stderr     # the check itself ran
    assert done.returncode == 0, ("an import breaks the package graph (docs/architecture.md, Package graph; "
                                  "contracts in pyproject.toml [tool.importlinter]):\n" + _broken(done.stdout))


def test_a_forbidden_import_is_named(tmp_path: Path) -> None:
    """The contracts have teeth: an expressions module importing records is reported with its line."""
    engines = tmp_path / "engines"
    engines.mkdir()
    for child in (ROOT / "engines").iterdir():
        if child.name not in ("expressions", "__pycache__"):
            (engines / child.name).symlink_to(child, target_is_directory=child.is_dir())
    (engines / "expressions").mkdir()
    for child in (ROOT / "engines" / "expressions").iterdir():
        if child.suffix == ".py":
            (engines / "expressions" / child.name).symlink_to(child)
    (engines / "expressions" / "probe.py").write_text("from mom.engines.records import service  # noqa: F401\n")
    done = _lint(_tree(tmp_path / "graph", {"engines": engines}))
    assert done.returncode != 0
    report = _broken(done.stdout)
    assert "mom.engines.expressions is not allowed to import mom.engines.records" in report, done.stdout
    assert "mom.engines.expressions.probe -> mom.engines.records.service (l.1)" in report, done.stdout
