"""What a job report reads before its rules run, in one statement (issue 19, throughput): the task
named by its QR code (or its id), its live order locked, every live task of that order locked in
operation order, the names of the task's work centre and machine for the answer, whether a live
job report already holds the report's ``client_id``, and for the expected finish each task's times
on its planned machine and its working calendar with that calendar's version.

Locks are taken in the engine's one order, the order first, then its tasks: on PostgreSQL the rows
(each task joined to its order, in operation order) are locked ``FOR UPDATE OF`` the order, then the
task, so the first row locks the order before any task (a test holds the last task and finds the
order already locked while the scan waits). The order's columns come on the named task's row only.

A statement's snapshot is taken when it starts, so when it had to wait for the order's lock (another
report of the same order was being written) the rows it locked are current but what it read without
a lock — whether the ``client_id`` is taken, above all — is as it was before the other report
committed. It notices (the order's ``row_version`` as locked differs from the one in its snapshot:
every report bumps it) and runs once more, now holding the lock, so it reads the other report too.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.production import documents as D
from mom.engines.production import forecast as F


@dataclasses.dataclass
class Scan:
    """What :func:`scan` read: the named task (all its fields), its order (locked), the order's tasks
    (locked, in operation order), ``{form: {id: name}}`` of the task's work centre and machine, and
    whether a live job report holds the ``client_id`` asked about (None: none was asked)."""
    task: dict[str, Any]
    order: dict[str, Any]
    tasks: list[dict[str, Any]]
    names: dict[str, dict[int, str]]
    used: bool | None


_NAMED = (("work_center", "work_center"), ("machine", D.MACHINE))


def scan(conn: Connection, forms: Any, *, code: str | None = None, task_id: int | None = None,
         client_id: str | None = None) -> Scan | None:
    """The live task whose code is ``code`` exactly (a scanner's QR), or whose id is ``task_id``, with
    its live order and that order's live tasks, locked (see the module); None when there is no such
    live task of a live order (nothing is locked then). Also kept for the report's rules in
    :func:`documents.held`: the order, the task's order, the tasks, each task's times and calendar."""
    by = "code" if code is not None else "id"
    built = _statement(conn, forms, by)
    params = {"key": code if code is not None else int(task_id or 0), "cid": client_id}
    found = _run(conn, built, params)
    if found is not None and found[2]:           # it waited on another report of the order: read again, locked now
        found = _run(conn, built, params)
    if found is None:
        return None
    rows, named_row, _, used = found
    _, task_keys, order_keys, names_of, calendars, has_modes = built
    order = {k: named_row[f"o__{k}"] for k in order_keys}
    tasks, times, cals, task, names = [], {}, {}, None, {}
    for r in rows:
        t = {k: r[k] for k in task_keys}
        if has_modes:
            setup, run = r["_mode_setup"], r["_mode_run"]
            times[int(t["id"])] = (setup, run) if t.get("machine") is not None and (setup, run) != (None, None) else None
        if calendars is not None:
            cals[int(t["id"])] = F.task_calendar_of(dict(r), calendars[2])
        tasks.append(t)
        if r is named_row:
            task = t
            for key, form in names_of:
                rid, shown = t.get(key), r[f"{key}__name"]
                names[form] = {} if rid is None or shown is None else {int(rid): str(shown)}
    held = D.held(conn)
    order_id = int(order["id"])
    held[(D.ORDER, order_id)] = order
    held[("task_order", int(task["id"]))] = order_id
    held[("tasks", order_id)] = tasks
    if times:
        held[D.TASK_TIMES] = times
    if cals:
        held[D.TASK_CALENDARS] = cals
    return Scan(task=task, order=order, tasks=tasks, names=names, used=used if client_id is not None else None)


def _run(conn: Connection, built: Any, params: dict[str, Any]) -> tuple[list[Any], Any, bool, bool] | None:
    """(rows, the named task's row, whether the order's lock was waited for, whether the client_id is
    taken); None: no live task of a live order is named so."""
    rows = conn.execute(built[0], params).mappings().all()
    named = next((r for r in rows if r["_named"]), None)
    if named is None:
        return None
    waited = named["_snapshot_version"] is not None and named["_snapshot_version"] != named["o__row_version"]
    return rows, named, waited, named["_client_id_used"] is not None


def _statement(conn: Connection, forms: Any, by: str) -> Any:
    """The statement, built once per version of the forms it reads (bound parameters ``key``, ``cid``).
    The order's columns, the names and the snapshot's version come on the named task's row only (the
    other rows carry NULLs there: every value sent is one the server formats and the client parses)."""
    task_form, order_form, report_form = (D.compiled(conn, forms, n) for n in (D.TASK, D.ORDER, D.REPORT))
    named = [(key, D.compiled(conn, forms, form)) for key, form in _NAMED]
    calendars = F.calendar_forms(conn, forms)
    key = ("scan", by, conn.dialect.name, order_form.version, report_form.version,
           *(f.version for _, f in named), *(f.version for f in calendars or ()))
    built = task_form.memo.get(key)
    if built is not None:
        return built
    pg = conn.dialect.name == "postgresql"
    t, o, r = task_form.main, order_form.main, report_form.main
    param = sa.bindparam("key", type_=(t.c.code if by == "code" else t.c.id).type)
    named_row = t.alias("scan_named")
    of_named = (sa.select(named_row.c.production_order)
                .where((named_row.c.code if by == "code" else named_row.c.id) == param, named_row.c.deleted_at.is_(None))
                .limit(1).scalar_subquery())
    is_named = (t.c.code if by == "code" else t.c.id) == param

    def on_named(expr: Any) -> Any:
        return sa.case((is_named, expr), else_=sa.null())

    snap = o.alias("scan_snapshot")             # the order as the statement's snapshot has it (not locked)
    snapshot_version = (on_named(sa.select(snap.c.row_version).where(snap.c.id == o.c.id).scalar_subquery())
                        if pg and "row_version" in o.c else sa.null())
    used = (sa.select(r.c.id).where(r.c.client_id == sa.bindparam("cid", type_=r.c.client_id.type),
                                    r.c.deleted_at.is_(None)).limit(1).scalar_subquery())
    cols: list[Any] = [*t.c, is_named.label("_named"), *(on_named(c).label(f"o__{c.key}") for c in o.c),
                       used.label("_client_id_used"), snapshot_version.label("_snapshot_version")]
    names_of = []
    for k, f in named:          # how a person names the task's work centre and machine: name, else code, else #id
        n = f.main.alias(f"scan_{k}")
        shown = sa.func.coalesce(*(sa.func.nullif(n.c[c], "") for c in ("name", "code") if c in n.c),
                                 "#" + sa.cast(n.c.id, sa.String))
        cols.append(on_named(sa.select(shown).where(n.c.id == t.c[k]).scalar_subquery()).label(f"{k}__name"))
        names_of.append((k, f.name))
    source: Any = t
    if calendars is not None:       # each task's working calendar and its version (the expected finish reads them)
        source, more = F.task_calendar_join(t, *calendars)
        cols += more
    source = source.join(o, o.c.id == t.c.production_order)
    modes = task_form.children.get("modes")
    has_modes = modes is not None and {"machine", "setup_min", "run_min"} <= set(modes.c.keys())
    if has_modes:       # the times of the task's first row of ``modes`` for its planned machine
        first = (sa.select(modes.c.setup_min).where(modes.c.parent_id == t.c.id, modes.c.machine == t.c.machine)
                 .order_by(modes.c.id).limit(1))
        cols += [first.with_only_columns(c).scalar_subquery().label(f"_mode_{k}")
                 for c, k in ((modes.c.setup_min, "setup"), (modes.c.run_min, "run"))]
    q = (sa.select(*cols).select_from(source)
         .where(t.c.deleted_at.is_(None), o.c.deleted_at.is_(None), t.c.production_order == of_named)
         .order_by(t.c.seq, t.c.id))
    if pg:          # each row locks the order first, then its task: the order before any of its tasks
        q = q.with_for_update(of=[o, t])
    built = task_form.memo[key] = (q, list(t.c.keys()), list(o.c.keys()), names_of, calendars, has_modes)
    return built
