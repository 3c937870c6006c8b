"""`mom`'s commands come from the `mom_cli_commands` hook; command modules share `cli.common` and
never import `cli.main` (which collects them), so the command line has no import cycle."""
from __future__ import annotations

import ast
from pathlib import Path

from click.testing import CliRunner

CLI = Path(__file__).resolve().parents[2] / "platform" / "cli"
COMMANDS = {"db", "demo", "form", "print", "record", "report", "schedule", "serve", "user", "worker", "workflow"}


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_no_command_module_imports_the_main_group() -> None:
    for path in CLI.glob("*.py"):
        if path.name not in {"main.py", "__main__.py"}:
            assert "mom.platform.cli.main" not in _imports(path), f"{path.name} imports cli.main: use cli.common"


def test_every_command_module_is_a_core_plugin() -> None:
    from mom.platform.plugins import CORE_PLUGINS

    for path in CLI.glob("*_cmds.py"):
        assert f"mom.platform.cli.{path.stem}" in CORE_PLUGINS, f"add mom.platform.cli.{path.stem} to CORE_PLUGINS"


def test_the_main_group_lists_the_plugin_commands() -> None:
    from mom.platform.cli.main import main

    res = CliRunner().invoke(main, ["--help"])
    assert res.exit_code == 0, res.output
    listed = {line.split()[0] for line in res.output.split("Commands:")[1].splitlines() if line.startswith("  ")
              and not line.startswith("   ")}
    assert COMMANDS <= listed, COMMANDS - listed
