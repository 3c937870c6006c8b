"""Reports as a product: validate against the live forms, apply (with the indexes the definition
asks for and its schedules), run for a caller, export to CSV/XLSX, fire scheduled deliveries."""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from croniter import croniter
from sqlalchemy.engine import Connection

from mom.engines.definitions.cron import next_run
from mom.engines.records.access import form_access
from mom.engines.records.context import Actor, Ctx, SYSTEM, actor_by_username
from mom.engines.reports import run as runner
from mom.engines.reports import store
from mom.engines.reports import summary as summary_mod
from mom.engines.reports.build import build
from mom.platform import outbox
from mom.platform.db import tables as T
from mom.platform.errors import AccessDenied, InvalidInput, MomError, NotFound, Problem, ProblemList, did_you_mean

KIND = "report"


class _Readable:
    """The form registry as ``actor`` sees it: a form they may not read is refused (AccessDenied, 403,
    as the records API does) before any of its fields is named in a message."""

    def __init__(self, forms: Any, actor: Actor) -> None:
        self.forms, self.actor = forms, actor

    def get(self, conn: Connection, name: str) -> Any:
        try:
            compiled = self.forms.get(conn, name)
        except NotFound:
            if self.actor.is_admin:
                raise
            # no "did you mean": the closest name may be a form this caller is not shown
            raise NotFound(f"表单 {name} 不存在", f"form {name} does not exist") from None
        if not self.actor.reads_form(name) or not form_access(compiled, self.actor).can("read"):
            raise AccessDenied(f"没有查看表单 {name} 的权限，不能用它做报表",
                               f"you may not read form {name}, so a report of yours cannot use it")
        return compiled

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.forms, attr)


def validate(conn: Connection, forms: Any, raw: Any, *, tz: dt.tzinfo = dt.timezone.utc,
             actor: Actor | None = None) -> dict[str, Any]:
    """Every problem of ``raw``: shape (JSON Schema), then fields, expressions, parameters, schedules
    against the live database. Returns a summary (columns, suggested indexes).

    ``actor``: who asks (None: a trusted caller — publishing, the CLI, a pack). They must be able to
    read the source form and every form a field path reaches, checked before anything else
    (AccessDenied); schedule recipients and ``run_as`` are checked against the users and roles only
    for an administrator (others get a note naming no one)."""
    problems = ProblemList()
    if actor is not None:
        forms = _Readable(forms, actor)
        if isinstance(raw, dict) and isinstance(raw.get("source"), str):
            try:
                forms.get(conn, raw["source"])
            except NotFound:
                pass                                  # reported at /source below
    store.check_shape(KIND, raw, problems)
    ctx = Ctx.system(tz)
    built = None
    try:
        built = build(conn, forms, ctx, raw, None, dry=True, cache=False)
    except InvalidInput as exc:
        problems.items.extend(exc.problems or [Problem("/", exc.zh, exc.en)])
    except AccessDenied:
        raise
    except MomError as exc:                       # unknown source form
        problems.add("/source", exc.zh, exc.en, exc.code)
    if built is not None:
        main = built.source.definition
        keys = {f.key for f in main.scalar_fields} | {"id", "created_at", "updated_at", "created_by", "department_id"}
        for i, ix in enumerate(raw.get("indexes", [])):
            for j, k in enumerate(ix):
                if k not in keys:
                    problems.add(f"/indexes/{i}/{j}", f"来源表单没有字段 {k}{did_you_mean(k, keys)}",
                                 f"the source form has no field {k}{did_you_mean(k, keys)}", "unknown_field")
        problems.items.extend(summary_mod.problems(raw, built.source))
    people = actor is None or actor.is_admin
    _check_schedules(conn, raw, problems, people=people)
    problems.raise_if_any("报表定义有误", "the report definition is invalid")
    assert built is not None
    out: dict[str, Any] = {"name": raw["name"], "source": raw["source"], "columns": [c.as_dict() for c in built.columns],
                           "indexes": [store.index_name(raw["source"], ix) for ix in raw.get("indexes", [])]}
    if not people and any(s.get("run_as") or s["to"].get("users") or s["to"].get("roles") for s in raw.get("schedules", [])):
        out["notes"] = [Problem("/schedules", "计划的收件人和运行用户只在管理员发布时检查",
                                "schedule recipients and run_as are checked when an administrator publishes",
                                "unchecked").as_dict()]
    return out


def _check_schedules(conn: Connection, raw: Mapping[str, Any], problems: ProblemList, *, people: bool = True) -> None:
    """Cron lines and duplicate keys; with ``people``, also that the users and roles named exist."""
    if not raw.get("schedules"):
        return
    users: set[str] = {r[0] for r in conn.execute(sa.select(T.user.c.username))} if people else set()
    roles: set[str] = {r[0] for r in conn.execute(sa.select(T.role.c.name))} if people else set()
    seen = set()
    for i, s in enumerate(raw["schedules"]):
        at = f"/schedules/{i}"
        key = s.get("key") or f"s{i + 1}"
        if key in seen:
            problems.add(f"{at}/key", f"计划键 {key} 重复", f"duplicate schedule key {key}", "duplicate")
        seen.add(key)
        if not croniter.is_valid(s["cron"]):
            problems.add(f"{at}/cron", "需要有效的 cron 表达式（分 时 日 月 周），如 \"0 8 * * 1\"",
                         "a valid cron line is needed (minute hour day month weekday), e.g. \"0 8 * * 1\"", "cron")
        if not people:
            continue
        if s.get("run_as") and s["run_as"] not in users:
            problems.add(f"{at}/run_as", f"用户 {s['run_as']} 不存在{did_you_mean(s['run_as'], users)}",
                         f"user {s['run_as']} does not exist{did_you_mean(s['run_as'], users)}", "unknown_user")
        for j, u in enumerate(s["to"].get("users", [])):
            if u not in users:
                problems.add(f"{at}/to/users/{j}", f"用户 {u} 不存在{did_you_mean(u, users)}",
                             f"user {u} does not exist{did_you_mean(u, users)}", "unknown_user")
        for j, r in enumerate(s["to"].get("roles", [])):
            if r not in roles:
                problems.add(f"{at}/to/roles/{j}", f"角色 {r} 不存在{did_you_mean(r, roles)}",
                             f"role {r} does not exist{did_you_mean(r, roles)}", "unknown_role")


def _next_due(raw: Mapping[str, Any], now: dt.datetime, tz: dt.tzinfo) -> dt.datetime | None:
    dues = [next_run(s["cron"], now, tz) for s in raw.get("schedules", [])]
    return min(dues) if dues else None


def apply(conn: Connection, forms: Any, raw: Any, *, now: dt.datetime, tz: dt.tzinfo, actor_id: int | None) -> dict[str, Any]:
    summary = validate(conn, forms, raw, tz=tz)

    def ensure_indexes(c: Connection) -> None:
        for cols in raw.get("indexes", []):
            name = store.index_name(raw["source"], cols)
            q = c.dialect.identifier_preparer
            c.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {q.quote(name)} ON {q.quote(raw['source'])} "
                              f"({', '.join(q.quote(k) for k in cols)})")

    out = store.apply(conn, KIND, raw, now=now, actor_id=actor_id, source=raw["source"],
                      next_run_at=_next_due(raw, now, tz), after=ensure_indexes)
    out["indexes"] = summary["indexes"]
    if raw.get("preaggregate"):
        if summary_mod.current(conn, forms, raw, out["version"])[0] is None:
            out["preaggregate"] = summary_mod.rebuild(conn, forms, Ctx.system(tz), raw, out["version"])
    else:
        summary_mod.drop(conn, raw["name"])
    return out


def delete(conn: Connection, name: str) -> None:
    """Remove a report (its versions stay for audit) and its pre-aggregated summary table."""
    store.delete(conn, KIND, name)
    summary_mod.drop(conn, name)


def refresh(conn: Connection, forms: Any, name: str, *, tz: dt.tzinfo) -> dict[str, Any]:
    """Rebuild a pre-aggregated report's summary table from its source (after the report or its
    form changed, or to repair it)."""
    raw, version = store.get(conn, KIND, name)
    if not raw.get("preaggregate"):
        raise InvalidInput(f"报表 {name} 没有声明 preaggregate", f"report {name} does not declare preaggregate",
                           problems=[Problem("/preaggregate", "未声明", "not declared", "not_preaggregated")])
    return summary_mod.rebuild(conn, forms, Ctx.system(tz), raw, version)


def run(conn: Connection, forms: Any, ctx: Ctx, name: str, given: Mapping[str, Any] | None = None, *,
        max_scan: int = runner.DEFAULT_MAX_SCAN, limit: int | None = None) -> dict[str, Any]:
    raw, version = store.get(conn, KIND, name)
    store.require_use(KIND, raw, ctx.actor)
    out = runner.execute(conn, forms, ctx, raw, given, max_scan=max_scan, limit=limit, version=version)
    out["version"] = version
    out["label"] = raw.get("label")
    return out


def drill(conn: Connection, forms: Any, ctx: Ctx, name: str, given: Mapping[str, Any] | None,
          point: Mapping[str, Any], *, limit: int = 200) -> dict[str, Any]:
    raw, _ = store.get(conn, KIND, name)
    store.require_use(KIND, raw, ctx.actor)
    return runner.drill(conn, forms, ctx, raw, given, point, limit=limit)


# ---------------------------------------------------------------------- exports
def _lang_label(label: Mapping[str, str] | None, lang: str, key: str) -> str:
    if not label:
        return key
    return label.get(lang) or label.get("zh-CN") or key


def _cell(col: Mapping[str, Any], v: Any, lang: str) -> Any:
    if v is None:
        return None
    opts = col.get("options")
    if opts and str(v) in opts:
        return opts[str(v)].get(lang) or v
    return v


def table_of(result: Mapping[str, Any], lang: str = "zh-CN") -> tuple[list[str], list[list[Any]]]:
    """Header and rows as shown to a person: labels in ``lang``, pivoted when the report pivots."""
    cols = [c for c in result["columns"]]
    pv = result.get("pivot")
    if pv:
        by = {c["key"]: c for c in cols}
        header = [_lang_label(by[d]["label"], lang, d) for d in pv["row_dimensions"]]
        for v in pv["values"]:
            for m in pv["measures"]:
                header.append(f"{v} / {_lang_label(by[m]['label'], lang, m)}" if len(pv["measures"]) > 1 else str(v))
        rows = []
        for r in pv["rows"]:
            line = [_cell(by[d], r.get(d), lang) for d in pv["row_dimensions"]]
            for v in pv["values"]:
                cell = r["cells"].get(v) or {}
                line.extend(cell.get(m) for m in pv["measures"])
            rows.append(line)
        return header, rows
    header = [_lang_label(c["label"], lang, c["key"]) for c in cols]
    return header, [[_cell(c, r.get(c["key"]), lang) for c in cols] for r in result["rows"]]


def to_csv(result: Mapping[str, Any], lang: str = "zh-CN") -> bytes:
    header, rows = table_of(result, lang)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")     # BOM: Excel opens Chinese text correctly


def to_xlsx(result: Mapping[str, Any], lang: str = "zh-CN") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    header, rows = table_of(result, lang)
    wb = Workbook(write_only=False)
    ws = wb.active
    label = result.get("label") or {}
    ws.title = (_lang_label(label, lang, result["report"]) or "report")[:31].replace("/", "-")
    ws.append(header)
    for c in ws[1]:
        c.font = Font(bold=True)
        c.fill = PatternFill("solid", fgColor="DDEBF7")
    for r in rows:
        ws.append(r)
    if not result.get("pivot"):
        for i, c in enumerate(result["columns"], start=1):
            fmt = c.get("format")
            if fmt == "percent" or c.get("decimals") is not None or c.get("type") == "integer":
                number = "0.0%" if fmt == "percent" else "0" if c.get("type") == "integer" else "0." + "0" * int(c.get("decimals") or 2)
                for row in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                    for cell in row:
                        cell.number_format = number
    for i, h in enumerate(header, start=1):
        width = max([len(str(h)) * 2] + [len(str(r[i - 1])) for r in rows[:200] if r[i - 1] is not None]) + 2
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(width, 50)
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def export(result: Mapping[str, Any], fmt: str, lang: str = "zh-CN") -> tuple[bytes, str, str]:
    """(content, media type, file extension)."""
    if fmt == "csv":
        return to_csv(result, lang), "text/csv; charset=utf-8", "csv"
    if fmt == "xlsx":
        return to_xlsx(result, lang), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"
    raise InvalidInput(f"未知格式 {fmt}（可用 json、csv、xlsx）", f"unknown format {fmt} (use json, csv, xlsx)",
                       problems=[Problem("/format", "未知格式", "unknown format", "enum")])


# ---------------------------------------------------------------------- schedules
def due_schedules(conn: Connection, *, now: dt.datetime, tz: dt.tzinfo) -> int:
    """Queue a ``report.deliver`` event for each schedule that is due. next_run_at moves with a
    compare-and-set, so with several workers exactly one queues each firing; the run itself is keyed
    by (report, schedule, due time), so a repeated event never delivers twice."""
    fired = 0
    rows = conn.execute(sa.select(T.definition.c.name, T.definition.c.next_run_at).where(
        T.definition.c.kind == KIND, T.definition.c.next_run_at <= now, T.definition.c.retired_at.is_(None))).all()
    for name, due in rows:
        raw, _ = store.get(conn, KIND, name)
        nxt = _next_due(raw, now, tz)
        res = conn.execute(T.definition.update().where(T.definition.c.kind == KIND, T.definition.c.name == name,
                                                       T.definition.c.next_run_at == due).values(next_run_at=nxt))
        if res.rowcount != 1:
            continue
        for i, s in enumerate(raw.get("schedules", [])):
            it = croniter(s["cron"], (due - dt.timedelta(seconds=1)).astimezone(tz))
            if it.get_next(dt.datetime) <= now.astimezone(tz):
                outbox.emit(conn, "report.deliver", {"report": name, "schedule": s.get("key") or f"s{i + 1}",
                                                     "due_at": due.isoformat()}, now=now)
                fired += 1
    return fired


def recipients(conn: Connection, to: Mapping[str, Any]) -> list[int]:
    ids: list[int] = []
    if to.get("users"):
        ids += [r[0] for r in conn.execute(sa.select(T.user.c.id).where(T.user.c.username.in_(to["users"]),
                                                                          T.user.c.is_active.is_(True)))]
    if to.get("roles"):
        ids += [r[0] for r in conn.execute(
            sa.select(T.user_role.c.user_id).join(T.role, T.role.c.id == T.user_role.c.role_id)
            .join(T.user, T.user.c.id == T.user_role.c.user_id)
            .where(T.role.c.name.in_(to["roles"]), T.user.c.is_active.is_(True)))]
    return list(dict.fromkeys(ids))


def scheduled_actor(conn: Connection, s: Mapping[str, Any]) -> Any:
    """Who a scheduled report runs as: ``run_as`` (its permissions apply), else the system."""
    if s.get("run_as"):
        actor = actor_by_username(conn, s["run_as"])
        if actor is None:
            raise InvalidInput(f"计划运行用户 {s['run_as']} 不存在或已停用", f"run_as user {s['run_as']} is missing or disabled")
        return actor
    return SYSTEM
