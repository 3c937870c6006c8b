"""The ``mom`` command line. Errors print the path and reason and exit non-zero.

The group itself holds no command: each command module (``serve_cmds``, ``form_cmds`` …, and any
plug-in) returns its commands from the ``mom_cli_commands`` hook, and the group adds them the first
time it is asked for its commands. Command modules share their helpers through
``mom.platform.cli.common`` and never import this module, so there is no import cycle.
"""
from __future__ import annotations

import click

from mom.platform.cli.common import HelpGroup
from mom.platform.errors import Conflict


def add_plugin_commands(group: click.Group) -> None:
    """Add every command the plug-ins return from ``mom_cli_commands`` (a name taken twice is an error)."""
    from mom.platform.plugins import plugin_manager

    for commands in plugin_manager().hook.mom_cli_commands():
        for command in commands or ():
            if command.name in group.commands:
                raise Conflict(f"两个插件都提供了命令 mom {command.name}", f"two plug-ins add the command `mom {command.name}`")
            group.add_command(command)


class PluginGroup(HelpGroup):
    """The top ``mom`` group: its commands are collected from the plug-ins on first use."""

    loaded = False

    def _load(self) -> None:
        if not self.loaded:
            self.loaded = True
            add_plugin_commands(self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load()
        return super().get_command(ctx, cmd_name)


@click.group(cls=PluginGroup, help="MOM 平台命令行 / MOM platform command line")
def main() -> None:
    pass


if __name__ == "__main__":  # pragma: no cover
    main()
