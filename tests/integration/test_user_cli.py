"""`mom user disable|enable` (issue 16 review): production mode tells the IT person to disable a demo
user, so there is a command for it; disabling ends the user's sessions and API tokens at once. Also
the console's texts: the password prompt in Chinese first, and help lines not cut off mid-sentence."""
from __future__ import annotations

from typing import Any

import click
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from mom.platform.cli.main import main
from mom.platform.cli.user_cmds import ask_new_password
from mom.platform.settings import get_settings
from tests.conftest import login
from tests.integration.test_api_tokens import bearer, mint
from tests.integration.test_production_mode import demo_users, served  # noqa: F401  (fixtures)


def test_disable_ends_sessions_and_tokens_and_enable_lets_the_user_back(cli: Any, client: TestClient,
                                                                         demo_forms: dict[str, str]) -> None:
    admin = demo_forms
    made = mint(client, admin, scopes=["read"])
    out = cli("user", "disable", "admin")
    assert out.exit_code == 0 and "已停用 admin" in out.output and "admin disabled" in out.output, out.output
    assert client.get("/api/records/supplier", headers=admin).status_code == 401
    assert client.get("/api/records/supplier", headers=bearer(made)).status_code == 401
    assert client.post("/api/auth/token", data={"username": "admin", "password": "admin-pass-1"}).status_code == 401
    out = cli("user", "enable", "admin")
    assert out.exit_code == 0 and "已启用 admin" in out.output, out.output
    again = login(client, "admin", "admin-pass-1")
    assert client.get("/api/records/supplier", headers=again).status_code == 200
    assert client.get("/api/records/supplier", headers=bearer(made)).status_code == 401   # ended tokens stay ended
    bad = cli("user", "disable", "nobody")
    assert bad.exit_code == 1 and "用户 nobody 不存在" in bad.stderr and "user nobody does not exist" in bad.stderr


def test_production_serve_starts_once_the_demo_users_are_disabled(cli: Any, demo_users: None, served: list,  # noqa: F811
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOM_PRODUCTION", "true")
    get_settings.cache_clear()
    refused = cli("serve", "--port", "8765")
    assert refused.exit_code == 1 and "mom user disable" in refused.stderr
    for user in ("admin", "qc1"):
        assert cli("user", "disable", user).exit_code == 0
    res = cli("serve", "--port", "8765")
    assert res.exit_code == 0 and len(served) == 1, res.output


def _help_lines(group: click.Group, path: list[str]) -> list[tuple[str, str]]:
    out = [(" ".join(path), CliRunner().invoke(main, [*path[1:], "--help"], terminal_width=80).output)]
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            out += _help_lines(cmd, [*path, name])
    return out


def test_help_lists_every_command_whole_and_serve_names_its_settings() -> None:
    for where, text in _help_lines(main, ["mom"]):
        listed = text.partition("Commands:")[2]
        assert listed and "..." not in listed, f"{where} --help cuts a line off:\n{text}"
    user = CliRunner().invoke(main, ["user", "--help"]).output
    assert "停用用户" in user and "disable a user" in user and "重新启用" in user and "enable a disabled user" in user
    serve = " ".join(CliRunner().invoke(main, ["serve", "--help"]).output.split())
    assert "MOM_HOST" in serve and "MOM_PORT" in serve and "监听地址" in serve and "端口" in serve


def test_the_password_prompt_asks_in_chinese_first_and_says_when_the_two_differ() -> None:
    @click.command()
    def ask() -> None:
        click.echo("got " + ask_new_password())

    res = CliRunner().invoke(ask, input="secret-one-1\nsecret-two-2\nsecret-3-ok\nsecret-3-ok\n")
    assert res.exit_code == 0 and "got secret-3-ok" in res.output, res.output
    assert "新密码 / new password" in res.output and "再输入一次以确认" in res.output
    assert "两次输入的密码不一致" in res.output and "the two passwords differ" in res.output
    assert "Repeat for confirmation" not in res.output and "do not match" not in res.output
    res = CliRunner().invoke(ask, input="a-1\nb-2\n" * 3)
    assert res.exit_code == 1 and "未做修改" in res.output


def test_passwd_at_the_console_asks_twice_in_chinese_first(cli: Any, client: TestClient, demo_users: None,  # noqa: F811
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from mom.platform.cli import user_cmds

    monkeypatch.setattr(user_cmds, "interactive", lambda: True)   # as if typed at a terminal
    runner = CliRunner()
    res = runner.invoke(main, ["user", "passwd", "qc1"], input="qc1-new-secret-7\nqc1-new-secret-8\n"
                        "qc1-new-secret-7\nqc1-new-secret-7\n")
    assert res.exit_code == 0, res.output
    assert "两次输入的密码不一致" in res.output and "Repeat for confirmation" not in res.output
    assert login(client, "qc1", "qc1-new-secret-7")
