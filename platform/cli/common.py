"""What every ``mom`` command module shares: opening the database, the caller's context, the form
registry, reading JSON files and printing JSON, and turning a ``MomError`` into a message and exit 1.

Command modules import this module, never ``mom.platform.cli.main`` (which collects them through the
``mom_cli_commands`` hook), so the command line has no import cycle.
"""
from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from mom.platform.errors import InvalidInput, MomError
from mom.platform.settings import get_settings

EXIT_INPUT = 1


def open_engine() -> Any:
    """The database of ``MOM_DATABASE_URL``, brought to the newest platform revision."""
    from mom.platform.db.engine import make_engine
    from mom.platform.db.migrate import upgrade

    engine = make_engine(get_settings().resolved_database_url())
    upgrade(engine)
    return engine


def command_ctx(engine: Any, username: str | None) -> Any:
    """The context a command acts in: the named user (the system when None), now, the plant's time zone."""
    from mom.engines.forms import fieldtypes
    from mom.engines.records.context import SYSTEM, Ctx, actor_by_username
    from mom.platform.db.engine import read_tx

    tz = fieldtypes.plant_tz(get_settings().timezone)
    actor = SYSTEM
    if username:
        with read_tx(engine) as conn:
            actor = actor_by_username(conn, username)
        if actor is None:
            raise click.ClickException(f"用户 {username} 不存在或已停用 / user {username} does not exist or is disabled")
    return Ctx(actor=actor, now=dt.datetime.now(dt.timezone.utc), tz=tz)


def workflow_call(username: str | None, fn: Callable[[Any], Any]) -> Any:
    """``fn(runtime)`` in one write transaction of the workflow engine, acting as ``username`` (the
    `mom workflow` commands)."""
    from mom.engines.workflow.runtime import Runtime
    from mom.platform.db.engine import write_tx
    engine = open_engine()
    forms = form_registry()
    ctx = command_ctx(engine, username)
    with write_tx(engine) as conn:
        return fn(Runtime(conn=conn, ctx=ctx, forms=forms, flows=forms.hooks.flows))


def interactive() -> bool:
    """Whether a person types at this console (a new password may then be asked for)."""
    return sys.stdin.isatty()


def form_registry() -> Any:
    """Forms with the workflow hooks installed: imports lock, transition and emit events like the API."""
    from mom.platform.composition import form_registry as registry

    return registry()


def reports_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Print a ``MomError`` (code, message, each problem, a refused plan's blocked steps) and exit 1."""
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MomError as exc:
            click.echo(f"错误 / error [{exc.code}]: {exc.zh} / {exc.en}", err=True)
            for p in exc.problems:
                click.echo(f"  {p.path or '/'}: {p.zh} / {p.en}", err=True)
            plan = exc.detail.get("plan") if exc.detail else None
            for op in (plan or {}).get("operations") or []:          # a form's plan
                if op["safety"] == "blocked":
                    click.echo(f"  ! {op['message']['zh-CN']} / {op['message']['en']}", err=True)
            for r in (plan or {}).get("reasons") or []:              # a pack's plan
                click.echo(f"  ✗ {r['zh-CN']} / {r['en']}", err=True)
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


def validate_each(items: list[tuple[str, Any]], check: Callable[[str, Any], None]) -> None:
    """Run ``check(file, raw)`` on every definition, print ``ok: <file>`` for each that passes and
    raise one InvalidInput listing every problem, each under its file."""
    problems = []
    for file, raw in items:
        try:
            check(file, raw)
            click.echo(f"ok: {file}")
        except InvalidInput as exc:
            problems += exc.problems_in(file)
    if problems:
        raise InvalidInput(f"{len(problems)} 处错误", f"{len(problems)} problem(s)", problems=problems)


def definition_files(path: str, folders: tuple[str, ...]) -> tuple[Path, list[Path]]:
    """``path`` and the JSON files it names: itself (a file), or a folder's ``*.json`` and
    ``<folder>/*.json`` for each of ``folders``, sorted, without ``pack.json``; a missing path is an
    ``InvalidInput``."""
    p = Path(path)
    if not p.exists():
        raise InvalidInput(f"路径不存在：{p}", f"no such file or folder: {p}")
    files = [p] if p.is_file() else sorted({*p.glob("*.json"), *(f for d in folders for f in p.glob(f"{d}/*.json"))})
    return p, [f for f in files if f.name != "pack.json"]


def read_json(path: Path) -> Any:
    """A JSON file's content; malformed JSON is an ``InvalidInput`` naming the line and column."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path}: JSON 格式错误（第 {exc.lineno} 行第 {exc.colno} 列）",
                           f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON (Chinese as is; dates and decimals as text)."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
