"""The ``mom`` command line. Errors print the path and reason and exit non-zero."""
from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from mom.platform.errors import MomError
from mom.platform.settings import get_settings

EXIT_INPUT = 1


def _engine() -> Any:
    from mom.platform.db.engine import make_engine
    from mom.platform.db.migrate import upgrade

    engine = make_engine(get_settings().resolved_database_url())
    upgrade(engine)
    return engine


def _ctx(engine: Any, username: str | None) -> Any:
    from mom.engines.forms import fieldtypes
    from mom.engines.records.context import SYSTEM, Ctx, load_actor
    from mom.platform.db import tables as T
    from mom.platform.db.engine import read_tx
    import sqlalchemy as sa

    tz = fieldtypes.plant_tz(get_settings().timezone)
    actor = SYSTEM
    if username:
        with read_tx(engine) as conn:
            uid = conn.execute(sa.select(T.user.c.id).where(T.user.c.username == username)).scalar()
            actor = load_actor(conn, uid) if uid else None
        if actor is None:
            raise click.ClickException(f"用户 {username} 不存在或已停用 / user {username} does not exist or is disabled")
    return Ctx(actor=actor, now=dt.datetime.now(dt.timezone.utc), tz=tz)


def _interactive() -> bool:
    """Whether a person types at this console (a new password may then be asked for)."""
    return sys.stdin.isatty()


def _registry() -> Any:
    """Forms with the workflow hooks installed: imports lock, transition and emit events like the API."""
    from mom.platform.composition import form_registry as registry

    return registry()


def reports_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MomError as exc:
            click.echo(f"错误 / error [{exc.code}]: {exc.zh} / {exc.en}", err=True)
            for p in exc.problems:
                click.echo(f"  {p.path or '/'}: {p.zh} / {p.en}", err=True)
            plan = exc.detail.get("plan") if exc.detail else None
            if plan:
                for op in plan["operations"]:
                    if op["safety"] == "blocked":
                        click.echo(f"  ! {op['message']['zh-CN']} / {op['message']['en']}", err=True)
            sys.exit(EXIT_INPUT)
    return wrapper


class HelpGroup(click.Group):
    """A command group whose ``--help`` lists each command's whole short help, wrapped, where click
    would cut it off mid-sentence with "..." (the English half comes second, so it was always cut)."""

    group_class = type   # its subgroups (mom user, mom report …) list their commands the same way

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, cmd.get_short_help_str(limit=10_000)) for name in self.list_commands(ctx)
                if (cmd := self.get_command(ctx, name)) is not None and not cmd.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=HelpGroup, help="MOM 平台命令行 / MOM platform command line")
def main() -> None:
    pass


@main.command(help="启动 HTTP 服务 / run the HTTP server")
@click.option("--host", default=None, help="监听地址（默认 MOM_HOST，即 127.0.0.1；0.0.0.0 为所有网卡）/ address to listen "
              "on (default MOM_HOST, i.e. 127.0.0.1; 0.0.0.0 for every network card)")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="端口（默认 MOM_PORT，即 8000）/ port (default MOM_PORT, i.e. 8000)")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="HTTP 工作进程数（默认 MOM_WEB_WORKERS 或 1）/ HTTP worker processes (default MOM_WEB_WORKERS or 1)")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    import uvicorn

    from mom.platform.api.app import create_app

    s = get_settings()
    workers = workers or s.web_workers
    host, port = host or s.host, port or s.port
    from mom.platform.api.client_address import trusted_networks
    try:
        trusted_networks(s.trusted_proxies)
    except ValueError as e:
        raise click.ClickException(f"MOM_TRUSTED_PROXIES 中的 “{e}” 不是 IP 地址或网段（例如 127.0.0.1 或 10.0.0.0/8）/ "
                                   f"'{e}' in MOM_TRUSTED_PROXIES is not an address or network (e.g. 127.0.0.1 or 10.0.0.0/8)")
    engine = _engine()   # migrated once, here
    _check_demo_passwords(engine, production=s.production)
    if workers == 1:
        app = create_app(s, engine, migrate=False)
        if s.worker_in_serve:   # single-machine setup: one outbox/timer worker in-process (MOM_WORKER_IN_SERVE=false to turn off)
            from mom.platform.worker import start_background
            start_background(app.state.engine, s, app.state.registry)
        uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=s.shutdown_grace_seconds,
                    proxy_headers=False)   # X-Forwarded-For: only from MOM_TRUSTED_PROXIES (api/client_address.py)
        return
    # Several HTTP processes (uvicorn starts them fresh, each building its app from the same MOM_*
    # settings): this process migrates once, runs the one in-process outbox/timer worker and
    # supervises them. Every cache of a worker is checked against the database, so a form, flow or
    # report published through one process is used by all at once.
    from mom.platform.composition import form_registry as registry

    if s.worker_in_serve:
        from mom.platform.worker import start_background
        start_background(engine, s, registry())
    uvicorn.run("mom.platform.api.app:create_served_app", factory=True, workers=workers, host=host, port=port,
                log_level="info", timeout_graceful_shutdown=s.shutdown_grace_seconds, proxy_headers=False)


def _check_demo_passwords(engine: Any, *, production: bool) -> None:
    """Refuse to serve in production mode while a demo password still works; otherwise warn loudly."""
    from mom.platform.cli.demo import demo_passwords_in_use

    users = demo_passwords_in_use(engine)
    if not users:
        return
    names, names_zh = ", ".join(users), "、".join(users)
    fix = "\n".join(f"    mom user passwd {u}" for u in users)
    if production:
        click.echo(f"错误 / error: 生产模式（MOM_PRODUCTION=true）下不能启动：用户 {names_zh} 仍在使用演示密码，任何人都能用它登录。\n"
                   f"请先为每个用户设置新密码，再启动：\n{fix}\n"
                   f"不需要的用户可以停用（mom user disable 用户名）。\n"
                   f"production mode (MOM_PRODUCTION=true) refuses to start: users {names} still have their demo "
                   f"passwords, which anyone can use to sign in. Give each a new password with the commands above "
                   f"(or disable a user you do not need: mom user disable USER), then start again.", err=True)
        sys.exit(EXIT_INPUT)
    bar = "!" * 78
    click.echo(f"{bar}\n警告：用户 {names_zh} 仍在使用演示密码（如 admin/admin123），任何人都能用它登录。\n"
               f"正式使用前请修改密码，并设置 MOM_PRODUCTION=true：\n{fix}\n"
               f"WARNING: users {names} still have their demo passwords (e.g. admin/admin123): anyone can sign in "
               f"with them. Before real use, change them (commands above) and set MOM_PRODUCTION=true.\n{bar}", err=True)


@main.group(help="数据库 / database")
def db() -> None:
    pass


@db.command("upgrade", help="升级平台表结构（幂等）/ bring platform tables to the newest revision")
@reports_errors
def db_upgrade() -> None:
    engine = _engine()
    click.echo(f"ok: {engine.url.render_as_string(hide_password=True)}")


@main.group(help="用户 / users")
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

    if password is None and _interactive():
        password = user_cmds.ask_new_password()
    engine = _engine()
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

    engine = _engine()
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
        if not _interactive():
            raise click.ClickException("请用 --password 或 MOM_NEW_PASSWORD 给出新密码 / give the new password with --password or MOM_NEW_PASSWORD")
        password = user_cmds.ask_new_password()
    auth.check_password_policy(password)
    if password in {pw for _, pw, *_ in USERS}:
        raise InvalidInput("不能使用演示密码，请换一个", "a demo password cannot be used; choose another",
                           problems=[Problem("/password", "这是公开的演示密码", "this is a published demo password", "demo_password")])
    engine = _engine()
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


@main.group(help="表单定义 / form definitions")
def form() -> None:
    pass


def _bundle(path: str) -> Any:
    from mom.engines.packs import loader

    return loader.load(path)


@form.command("validate", help="校验定义文件或文件夹 / validate a definition file or folder")
@click.argument("path")
@reports_errors
def form_validate(path: str) -> None:
    from mom.engines.packs import loader
    from mom.platform.db.engine import read_tx

    bundle = _bundle(path)
    engine = _engine()
    with read_tx(engine) as conn:
        loader.validate(conn, bundle)
    click.echo(f"ok: {len(bundle.forms)} 个表单定义有效 / {len(bundle.forms)} form definition(s) valid")


@form.command("plan", help="显示变更计划，不做修改 / show the migration plan; writes nothing")
@click.argument("path")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def form_plan(path: str, as_json: bool) -> None:
    from mom.engines.packs import loader
    from mom.platform.db.engine import read_tx

    engine = _engine()
    with read_tx(engine) as conn:
        plans = loader.plan(conn, _bundle(path))
    if as_json:
        click.echo(json.dumps([p.as_dict() for p in plans], ensure_ascii=False, indent=1))
    else:
        for p in plans:
            click.echo(p.describe("zh-CN"))
    if any(p.blocked for p in plans):
        sys.exit(EXIT_INPUT)


@form.command("apply", help="应用定义（一个事务）/ apply definitions in one transaction")
@click.argument("path")
@reports_errors
def form_apply(path: str) -> None:
    from mom.engines.packs import loader
    from mom.platform.db.engine import write_tx

    engine = _engine()
    bundle = _bundle(path)
    forms = _registry()
    ctx = _ctx(engine, None)
    with write_tx(engine) as conn:   # forms, then the pack's workflows and rules: all or nothing
        plans = loader.apply(conn, bundle)
        lines = loader.apply_automation(conn, bundle, forms, now=ctx.now, tz=ctx.tz)
    for p in plans:
        click.echo(p.describe("zh-CN"))
    for line in lines:
        click.echo(line)


@form.command("export", help="导出已发布的定义 / print a published definition")
@click.argument("name")
@click.option("--version", type=int)
@reports_errors
def form_export(name: str, version: int | None) -> None:
    from mom.engines.forms import store
    from mom.platform.db.engine import read_tx
    from mom.platform.errors import NotFound

    engine = _engine()
    with read_tx(engine) as conn:
        cur = store.current(conn, name)
        if cur is None:
            raise NotFound(f"表单 {name} 不存在", f"form {name} does not exist")
        raw = store.version_definition(conn, name, version or cur[1])
    click.echo(json.dumps(raw, ensure_ascii=False, indent=2))


@form.command("purge", help="清除已停用字段的数据（不可恢复）/ destroy a retired field's data")
@click.argument("name")
@click.argument("field_id")
@click.option("--yes", is_flag=True, help="确认 / confirm")
@reports_errors
def form_purge(name: str, field_id: str, yes: bool) -> None:
    from mom.engines.forms import store
    from mom.platform.db.engine import write_tx

    if not yes:
        raise click.ClickException("不可恢复，请加 --yes 确认 / irreversible: add --yes to confirm")
    engine = _engine()
    with write_tx(engine) as conn:
        click.echo(json.dumps(store.purge_field(conn, name, field_id), ensure_ascii=False))


@main.group(help="记录 / records")
def record() -> None:
    pass


@record.command("import", help="导入 CSV/XLSX / import a CSV or XLSX file")
@click.argument("form_name", metavar="FORM")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", help="按此字段更新已有记录（upsert）/ update records with this key value")
@click.option("--mode", type=click.Choice(["all", "skip"]), default="all", show_default=True)
@click.option("--user", "username", help="以此用户身份导入 / import as this user")
@click.option("--errors", "errors_out", type=click.Path(dir_okay=False), help="把逐行错误写入 CSV / write row errors to CSV")
@reports_errors
def record_import(form_name: str, file: str, key: str | None, mode: str, username: str | None, errors_out: str | None) -> None:
    import signal
    import threading

    from mom.engines.records import transfer

    engine = _engine()
    ctx = _ctx(engine, username)
    s = get_settings()
    limits = transfer.TableLimits.from_settings(s)
    stop = transfer.Stop(limits.max_seconds)
    # SIGTERM stops the import at its next check; it rolls back and writes nothing (Ctrl-C does the same)
    on_main = threading.current_thread() is threading.main_thread()   # signals can only be caught there
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.request(
        "收到停止信号，导入已取消，未导入任何数据", "stopped by a signal; the import was cancelled, nothing was imported")) if on_main else None
    try:
        with open(file, "rb") as fh:
            res = transfer.import_records(engine=engine, registry=_registry(), ctx=ctx, form=form_name, stream=fh,
                                          fmt=transfer.format_of(file), key=key, mode=mode, chunk=s.import_chunk_rows,
                                          limits=limits, stop=stop)
    except MomError as exc:
        if errors_out and exc.detail.get("errors"):
            _write_errors(errors_out, exc.detail["errors"])
        raise
    finally:
        if on_main:
            signal.signal(signal.SIGTERM, previous)
    click.echo(f"共 {res['total']} 行：新增 {res['created']}，更新 {res['updated']}，跳过 {res['skipped']} / "
               f"{res['total']} rows: {res['created']} created, {res['updated']} updated, {res['skipped']} skipped")
    for e in res["errors"]:
        click.echo(f"  {e['message']['zh-CN']} / {e['message']['en']}", err=True)
    if errors_out and res["errors"]:
        _write_errors(errors_out, res["errors"])


def _write_errors(path: str, errors: list[dict[str, Any]]) -> None:
    import csv

    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["row", "field", "错误", "error"])
        for e in errors:
            w.writerow([e["row"], e["field"] or "", e["message"]["zh-CN"], e["message"]["en"]])


@record.command("export", help="导出 CSV/XLSX / export records")
@click.argument("form_name", metavar="FORM")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="输出文件（默认标准输出，仅 CSV）/ output file")
@click.option("--header", type=click.Choice(["label", "key"]), default="label", show_default=True)
@click.option("--user", "username")
@reports_errors
def record_export(form_name: str, fmt: str, out: str | None, header: str, username: str | None) -> None:
    from mom.engines.forms.store import FormRegistry
    from mom.engines.records import transfer
    from mom.platform.db.engine import read_tx

    engine = _engine()
    ctx = _ctx(engine, username)
    if fmt == "xlsx" and not out:
        raise click.ClickException("XLSX 需要 --out 文件 / XLSX needs --out FILE")
    with read_tx(engine) as conn:
        rows = transfer.export_rows(conn=conn, registry=_registry(), ctx=ctx, form=form_name, header=header)
        if fmt == "xlsx":
            with open(out, "wb") as fh:  # type: ignore[arg-type]
                transfer.write_xlsx(rows, fh, form_name)
        else:
            target = open(out, "wb") if out else sys.stdout.buffer
            try:
                for chunk in transfer.write_csv(rows):
                    target.write(chunk)
            finally:
                if out:
                    target.close()
    if out:
        click.echo(f"ok: {out}")


@main.command(help="加载演示数据（幂等）/ load the demo forms, users and records (idempotent)")
@click.option("--serve", "then_serve", is_flag=True, help="然后启动服务 / then run the server")
@reports_errors
def demo(then_serve: bool) -> None:
    from mom.platform.cli.demo import load_demo

    engine = _engine()
    for line in load_demo(engine):
        click.echo(line)
    if then_serve:
        s = get_settings()
        click.echo(f"http://{s.host}:{s.port}/  (API: http://{s.host}:{s.port}/docs)")
        # invoke, not .callback(): click fills in every option's default, so a new `serve` option never breaks this
        click.get_current_context().invoke(serve)


from mom.platform.cli import workflow_cmds  # noqa: E402  (registers `mom workflow …` and `mom worker`)

workflow_cmds.register(main)

from mom.platform.cli import report_cmds  # noqa: E402  (registers `mom report …` and `mom print`)

report_cmds.register(main)

from mom.platform.cli import schedule_cmds  # noqa: E402,F401  (registers `mom schedule …`)
from mom.platform.cli import user_cmds  # noqa: E402  (`mom user disable|enable`, the password prompt)

user_cmds.register(user, reports_errors)

if __name__ == "__main__":  # pragma: no cover
    main()
