"""`mom user disable|enable` and the bilingual new-password prompt of `mom user add|passwd`.

Disabling a user (``is_active`` false) stops their sign-in at once: every session and API token they
hold is revoked (with the tokens made through them), and a token check refuses a disabled user's
token anyway. Enabling lets them sign in again with their password; revoked tokens stay revoked."""
from __future__ import annotations

from typing import Any

import click

PROMPT_TRIES = 3


def ask_new_password() -> str:
    """Ask for a new password twice, in Chinese first (click's own confirmation texts are English only)."""
    for _ in range(PROMPT_TRIES):
        first = click.prompt("新密码 / new password", hide_input=True)
        again = click.prompt("再输入一次以确认 / the same password again, to confirm", hide_input=True)
        if first == again:
            return first
        click.echo("两次输入的密码不一致，请重新输入 / the two passwords differ; enter them again", err=True)
    raise click.ClickException(f"{PROMPT_TRIES} 次输入不一致，未做修改 / the passwords differed {PROMPT_TRIES} times; "
                               "nothing was changed")


def set_active(username: str, active: bool) -> int:
    """Enable or disable ``username``; disabling revokes all their sessions and API tokens (the count
    revoked is returned). Raises ``NotFound`` for an unknown user."""
    import sqlalchemy as sa

    from mom.platform.auth import service as auth
    from mom.platform.cli.main import _engine
    from mom.platform.db import tables as T
    from mom.platform.db.engine import write_tx
    from mom.platform.errors import NotFound

    with write_tx(_engine()) as conn:
        uid = conn.execute(sa.select(T.user.c.id).where(T.user.c.username == username)).scalar()
        if uid is None:
            raise NotFound(f"用户 {username} 不存在：用户名区分大小写，请核对", f"user {username} does not exist "
                           "(user names are case-sensitive)")
        conn.execute(T.user.update().where(T.user.c.id == uid).values(is_active=active))
        if active:
            return 0
        live = conn.execute(sa.select(T.token.c.id).where(T.token.c.user_id == uid, T.token.c.revoked_at.is_(None))
                            .order_by(T.token.c.id)).scalars().all()
        ended: set[int] = set()
        for tid in live:
            if tid not in ended:
                ended.update(auth.revoke_token(conn, uid, tid, is_admin=True))
        return len(ended)


def register(user: click.Group, reports_errors: Any) -> None:
    """Add ``disable`` and ``enable`` to the ``mom user`` group."""

    @user.command("disable", short_help="停用用户（不能再登录）/ disable a user (no more sign-ins)",
                  help="停用用户：不能再登录，其登录会话和 API 令牌立即失效；记录和历史保留。"
                       "可用 mom user enable 重新启用。\n\n"
                       "Disable a user: they can no longer sign in, and their sessions and API tokens end at once; "
                       "their records and history stay. Enable them again with mom user enable.")
    @click.argument("username")
    @reports_errors
    def user_disable(username: str) -> None:
        ended = set_active(username, False)
        click.echo(f"已停用 {username}，注销 {ended} 个登录会话和令牌 / {username} disabled; {ended} session(s) and "
                   "token(s) ended")

    @user.command("enable", short_help="重新启用已停用的用户 / enable a disabled user again",
                  help="重新启用已停用的用户：可用原密码登录（之前的会话和令牌仍然无效）。\n\n"
                       "Enable a disabled user again: they sign in with their password (earlier sessions and "
                       "tokens stay ended).")
    @click.argument("username")
    @reports_errors
    def user_enable(username: str) -> None:
        set_active(username, True)
        click.echo(f"已启用 {username} / {username} enabled")
