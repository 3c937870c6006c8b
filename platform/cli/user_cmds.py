"""`mom user …` (add, unlock, passwd, disable, enable) and the bilingual new-password prompt.

Disabling a user (``is_active`` false) stops their sign-in at once: every session and API token they
hold is revoked (with the tokens made through them), and a token check refuses a disabled user's
token anyway. Enabling lets them sign in again with their password; revoked tokens stay revoked."""
from __future__ import annotations

import datetime as dt
from typing import Any

import click

from mom.platform.cli.common import HelpGroup, interactive, open_engine, reports_errors
from mom.platform.hookspecs import hookimpl
from mom.platform.settings import get_settings

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
    from mom.platform.db import tables as T
    from mom.platform.db.engine import write_tx
    from mom.platform.errors import NotFound

    with write_tx(open_engine()) as conn:
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


@click.group(cls=HelpGroup, help="用户 / users")
def user() -> None:
    pass


@user.command("add", help="新建用户 / add a user")
@click.argument("username")
@click.option("--password", envvar="MOM_NEW_PASSWORD", help="或环境变量 MOM_NEW_PASSWORD；不给则提示输入")
@click.option("--display-name")
@click.option("--admin", is_flag=True)
@click.option("--department", help="部门编码 / department code")
@click.option("--role", "roles", multiple=True)
@click.option("--token", "token_name", help="同时签发一个 API 令牌 / also issue an API token with this name")
@click.option("--scope", "token_scopes", multiple=True,
              help="令牌的权限范围，可多次给出（默认 read、write）/ the token's scopes, repeatable (default read, write)")
@click.option("--token-days", type=click.IntRange(1, 36500), help="令牌有效天数 / days the token lasts "
              "(default MOM_API_TOKEN_DEFAULT_DAYS, at most MOM_API_TOKEN_MAX_DAYS)")
@reports_errors
def user_add(username: str, password: str | None, display_name: str | None, admin: bool, department: str | None,
             roles: tuple[str, ...], token_name: str | None, token_scopes: tuple[str, ...], token_days: int | None) -> None:
    from mom.platform.auth import service as auth
    from mom.platform.db.engine import write_tx

    if password is None and interactive():
        password = ask_new_password()
    engine = open_engine()
    with write_tx(engine) as conn:
        uid = auth.create_user(conn, username=username, password=password, display_name=display_name, is_admin=admin,
                               department=department, roles=list(roles))
        tok = _api_token(conn, uid, token_name, token_scopes, token_days) if token_name else None
    click.echo(f"用户已创建 / user created: {username} (id {uid})")
    if tok:
        click.echo(f"API token: {tok['access_token']}  (scopes {' '.join(tok['scopes'])}; expires {tok['expires_at']})")


def _api_token(conn: Any, uid: int, name: str, scopes: tuple[str, ...], days: int | None) -> dict[str, Any]:
    """An API token made at the console: scoped (default read, write) and expiring like one made through the API."""
    from mom.platform.auth import scopes as S
    from mom.platform.auth import service as auth
    from mom.platform.errors import InvalidInput, Problem

    s = get_settings()
    days = days or s.api_token_default_days
    if days > s.api_token_max_days:
        raise InvalidInput(f"令牌有效期最长 {s.api_token_max_days} 天", f"a token may last at most {s.api_token_max_days} days",
                           problems=[Problem("--token-days", f"最大 {s.api_token_max_days}", f"at most {s.api_token_max_days}", "max")])
    return auth.issue_token(conn, uid, kind="api", name=name, ttl=dt.timedelta(days=days),
                            scopes=S.validate(scopes or ("read", "write"), path="--scope"))


@user.command("unlock", help="解除用户的登录锁定并清除失败次数 / lift a user's sign-in lock and forget the failures")
@click.argument("username")
@reports_errors
def user_unlock(username: str) -> None:
    import sqlalchemy as sa

    from mom.platform.auth import throttle
    from mom.platform.auth.tokens import now
    from mom.platform.db import tables as T
    from mom.platform.db.engine import write_tx

    engine = open_engine()
    with write_tx(engine) as conn:
        uid = conn.execute(sa.select(T.user.c.id).where(T.user.c.username == username)).scalar()
        lifted = throttle.unlock(conn, throttle.USER, username, actor_id=None, record_id=uid, at=now())
    click.echo(f"已解锁 {username} / {username} unlocked" if lifted else
               f"{username} 没有登录失败记录 / {username} has no failed sign-ins")


@user.command("passwd", help="设置用户的新密码（并注销其登录会话）/ set a user's new password (and end their sessions)")
@click.argument("username")
@click.option("--password", envvar="MOM_NEW_PASSWORD", help="或环境变量 MOM_NEW_PASSWORD；不给则提示输入")
@reports_errors
def user_passwd(username: str, password: str | None) -> None:
    import sqlalchemy as sa

    from mom.platform.auth import service as auth
    from mom.platform.cli.demo import USERS
    from mom.platform.db import tables as T
    from mom.platform.db.engine import write_tx
    from mom.platform.errors import InvalidInput, NotFound, Problem

    if password is None:
        if not interactive():
            raise click.ClickException("请用 --password 或 MOM_NEW_PASSWORD 给出新密码 / give the new password with --password or MOM_NEW_PASSWORD")
        password = ask_new_password()
    auth.check_password_policy(password)
    if password in {pw for _, pw, *_ in USERS}:
        raise InvalidInput("不能使用演示密码，请换一个", "a demo password cannot be used; choose another",
                           problems=[Problem("/password", "这是公开的演示密码", "this is a published demo password", "demo_password")])
    engine = open_engine()
    digest = auth.hash_password(password)   # before the write transaction: hashing takes a while
    with write_tx(engine) as conn:
        uid = conn.execute(sa.select(T.user.c.id).where(T.user.c.username == username)).scalar()
        if uid is None:
            raise NotFound(f"用户 {username} 不存在", f"user {username} does not exist")
        conn.execute(T.user.update().where(T.user.c.id == uid).values(password_hash=digest))
        sessions = conn.execute(sa.select(T.token.c.id).where(T.token.c.user_id == uid, T.token.c.kind == "session",
                                                              T.token.c.revoked_at.is_(None))).scalars().all()
        for sid in sessions:   # with the API tokens made in them (someone who knew the old password may have made one)
            auth.revoke_token(conn, uid, sid, is_admin=True)
        ended = len(sessions)
    click.echo(f"已为 {username} 设置新密码，注销 {ended} 个登录会话 / new password set for {username}; {ended} session(s) ended")


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


@hookimpl
def mom_cli_commands() -> list[click.Command]:
    """`mom user …`."""
    return [user]
