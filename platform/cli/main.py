"""The ``mom`` command line. Errors print the path and reason and exit non-zero.

The group itself holds no command: each command module (``serve_cmds``, ``form_cmds`` …, and any
plug-in) returns its commands from the ``mom_cli_commands`` hook, and the group adds them the first
time it is asked for its commands. A plug-in that cannot be loaded, or two plug-ins adding one
command, is printed like any other error (``错误 / error [code]: …``, exit 1), never a traceback.
Command modules share their helpers through
``mom.platform.cli.common`` and never import this module, so there is no import cycle.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from mom.platform.cli.common import HelpGroup
from mom.platform.errors import MomError


def add_plugin_commands(group: click.Group, pm: Any = None) -> None:
    """Add every command the plug-ins (of ``pm``, or the process's manager) return from
    ``mom_cli_commands``; a name taken twice is a ``Conflict`` naming both plug-ins."""
    from mom.platform.plugins import answers, clash, plugin_manager

    owner: dict[str, str] = {}
    for plugin, commands in answers((pm or plugin_manager()).hook.mom_cli_commands):
        for command in commands or ():
            if command.name in group.commands:
                raise clash(("命令", "command"), f"mom {command.name}", owner.get(command.name, ""), plugin)
            owner[command.name] = plugin
            group.add_command(command)


class PluginGroup(HelpGroup):
    """The top ``mom`` group: its commands are collected from the plug-ins on first use."""

    loaded = False
    load_error: MomError | None = None

    def _load(self) -> None:
        if not self.loaded:
            self.loaded = True
            try:
                add_plugin_commands(self)
            except MomError as exc:      # try again next time (a test may fix the manager)
                self.load_error, self.loaded = exc, False
                self.commands.clear()
                raise

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load()
        return super().get_command(ctx, cmd_name)

    def main(self, args: Sequence[str] | None = None, *a: Any, **kw: Any) -> Any:
        """Run the command line; a plug-in that fails to load or clashes prints one error line, exit 1."""
        try:
            return super().main(args, *a, **kw)
        except MomError as exc:
            if exc is not self.load_error:    # a command's own error: its wrapper (reports_errors) prints those
                raise
            click.echo(f"错误 / error [{exc.code}]: {exc.zh} / {exc.en}", err=True)
            sys.exit(1)


@click.group(cls=PluginGroup, help="MOM 平台命令行 / MOM platform command line")
def main() -> None:
    pass


if __name__ == "__main__":  # pragma: no cover
    main()
