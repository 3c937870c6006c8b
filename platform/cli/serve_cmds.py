"""`mom serve`, `mom db upgrade` and `mom demo`: running the server and preparing its database."""
from __future__ import annotations

import sys
from typing import Any

import click

from mom.platform.cli.common import EXIT_INPUT, HelpGroup, open_engine, reports_errors
from mom.platform.hookspecs import hookimpl
from mom.platform.settings import get_settings


@click.command(help="启动 HTTP 服务 / run the HTTP server")
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
    engine = open_engine()   # migrated once, here
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


@click.group(cls=HelpGroup, help="数据库 / database")
def db() -> None:
    pass


@db.command("upgrade", help="升级平台表结构（幂等）/ bring platform tables to the newest revision")
@reports_errors
def db_upgrade() -> None:
    engine = open_engine()
    click.echo(f"ok: {engine.url.render_as_string(hide_password=True)}")


@click.command(help="加载演示数据（幂等）/ load the demo forms, users and records (idempotent)")
@click.option("--serve", "then_serve", is_flag=True, help="然后启动服务 / then run the server")
@reports_errors
def demo(then_serve: bool) -> None:
    from mom.platform.cli.demo import load_demo

    engine = open_engine()
    for line in load_demo(engine):
        click.echo(line)
    if then_serve:
        s = get_settings()
        click.echo(f"http://{s.host}:{s.port}/  (API: http://{s.host}:{s.port}/docs)")
        # invoke, not .callback(): click fills in every option's default, so a new `serve` option never breaks this
        click.get_current_context().invoke(serve)


@hookimpl
def mom_cli_commands() -> list[click.Command]:
    """`mom serve`, `mom db …`, `mom demo`."""
    return [serve, db, demo]
