"""In-process inspection (过程检验, IPQC) triggered by production (issue 22).

An inspection plan of type ``ipqc_first`` / ``ipqc_patrol`` / ``ipqc_last`` for the order's item and
the operation (``inspection_plan.operation`` = ``operation_task.name``; empty: any operation) opens
inspection lots on the operation task:

- first article 首检: when the task first starts (its ``actual_start`` set: 开工, or a first report);
  with ``blocks_production`` the task makes no more pieces (good + scrap + rework, by a report, a
  correction 更正 or an edit) than the first-article samples until the latest first-article lot is judged
  accepted (:func:`check_blocked`; the dispatch list says 等待首检, :func:`waiting_first_article`); a rejected one opens a new
  first-article lot (重新首检) for the corrected set-up;
- patrol 巡检: each multiple of ``patrol_every_qty`` that the task's good quantity crosses with a job
  report (:func:`patrol_by_qty`) and every ``patrol_every_minutes`` while the task runs
  (:func:`patrol_tick`, ``mom quality patrol`` and the pack's schedule rule);
- last article 末检: when the task is finished.

Each lot carries its production order and operation task (so a rejected lot's NCR can reopen the work).
Everything runs in the writer's transaction: a refused report leaves nothing behind.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.production import documents as PD
from mom.engines.quality import trigger_lots as TL
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.platform.errors import Conflict, Problem

FIRST, PATROL, LAST = "ipqc_first", "ipqc_patrol", "ipqc_last"
#: at most this many patrol lots from one job report (a plan of every 1 piece and a report of 10,000)
MAX_PATROL_PER_REPORT = 10
#: job report events that count produced pieces towards a patrol
COUNTING = ("report", "finish")
#: the quantities that count as pieces made against the first-article samples
PIECES = ("good_qty", "scrap_qty", "rework_qty")


def _order(conn: Connection, forms: Any, order_id: Any) -> dict[str, Any] | None:
    if order_id is None:
        return None
    return PD.row(conn, forms.get(conn, PD.ORDER), int(order_id))


def _where(order: Mapping[str, Any], task: Mapping[str, Any]) -> tuple[str, str]:
    """『工单 MO-… 工序「10 车外圆」』 and its English."""
    title = PD.task_title(task)
    return f"工单 {order.get('code')} 工序「{title}」", f"order {order.get('code')} operation {title}"


# ---------------------------------------------------------------- first and last article

def _task_in_order(conn: Connection, forms: Any, task_id: int, new: Mapping[str, Any]
                   ) -> tuple[CompiledForm, CompiledForm, dict[str, Any], dict[str, Any]] | None:
    """The quality pack's plan and lot forms, the task as written and its order — None when the pack is not
    installed or the task has no order."""
    found = TL.installed(conn, forms)
    if found is None:
        return None
    task = {**new, "id": task_id}
    order = _order(conn, forms, task.get("production_order"))
    return None if order is None else (*found, task, order)


def on_task_changed(conn: Connection, forms: Any, ctx: Ctx, task_id: int, old: Mapping[str, Any],
                    new: Mapping[str, Any]) -> None:
    """A task's first start opens its first-article lot, its finish its last-article lot (when planned)."""
    started = old.get("actual_start") is None and new.get("actual_start") is not None
    finished = old.get("status") != "done" and new.get("status") == "done"
    if not (started or finished):
        return
    held = _task_in_order(conn, forms, task_id, new)
    if held is None:
        return
    plan_form, lot_form, task, order = held
    if started:
        _first_article(conn, forms, ctx, plan_form, lot_form, order, task)
    if finished:
        _last_article(conn, forms, ctx, plan_form, lot_form, order, task)


def _sources(order: Mapping[str, Any], task: Mapping[str, Any]) -> dict[str, Any]:
    return {"operation_task": int(task["id"]), "production_order": int(order["id"])}


def _first_article(conn: Connection, forms: Any, ctx: Ctx, plan_form: CompiledForm, lot_form: CompiledForm,
                   order: Mapping[str, Any], task: Mapping[str, Any]) -> None:
    plan = TL.find_plan(conn, plan_form, FIRST, order.get("item"), operation=task.get("name"))
    if plan is None:
        return
    if any(lt["status"] != "cancelled" for lt in TL.lots_of(conn, lot_form, "operation_task", task["id"], FIRST)):
        return      # one first article per task (a re-inspection after a rejection is opened on the judge)
    zh, en = _where(order, task)
    TL.open_lot(conn, forms, ctx, plan=plan, item=order["item"], lot=None, qty=task.get("qty") or order.get("qty"),
                sources=_sources(order, task), note=f"首检：{zh}开工 / first article: {en} started")


def _last_article(conn: Connection, forms: Any, ctx: Ctx, plan_form: CompiledForm, lot_form: CompiledForm,
                  order: Mapping[str, Any], task: Mapping[str, Any]) -> None:
    plan = TL.find_plan(conn, plan_form, LAST, order.get("item"), operation=task.get("name"))
    if plan is None:
        return
    if any(lt["status"] in TL.OPEN for lt in TL.lots_of(conn, lot_form, "operation_task", task["id"], LAST)):
        return
    zh, en = _where(order, task)
    qty = TL.dec(task.get("good_qty")) or TL.dec(task.get("qty"))
    TL.open_lot(conn, forms, ctx, plan=plan, item=order["item"], lot=None, qty=max(qty, Decimal(1)),
                sources=_sources(order, task), note=f"末检：{zh}完工 / last article: {en} finished")


def on_lot_judged(conn: Connection, forms: Any, ctx: Ctx, lot_id: int, old: Mapping[str, Any],
                  new: Mapping[str, Any]) -> None:
    """A rejected IPQC lot opens its NCR (with the order and operation task, for rework); a rejected first
    article of a plan that blocks production also opens the next first-article lot (重新首检): the
    operator corrects the set-up, makes new first pieces, and the inspector judges them."""
    if new.get("inspection_type") not in (FIRST, PATROL, LAST) or new.get("status") != "judged" \
            or new.get("result") != "rejected" or old.get("result") == "rejected":
        return
    if new.get("operation_task") is None or new.get("plan") is None:
        return
    found = TL.installed(conn, forms)
    if found is None:
        return
    plan_form, lot_form = found
    task = PD.row(conn, forms.get(conn, PD.TASK), int(new["operation_task"]))
    order = _order(conn, forms, (task or {}).get("production_order") or new.get("production_order"))
    if task is None or order is None:
        return
    zh, en = _where(order, task)
    kind = TL.TYPE_ZH.get(str(new["inspection_type"]), "")
    qty = new.get("lot_qty") if new["inspection_type"] == PATROL else (new.get("sample_size") or new.get("lot_qty"))
    TL.open_ncr(conn, forms, ctx, {**new, "id": lot_id}, title=f"{kind}不合格：{zh}", qty=qty,
                extra={"production_order": int(order["id"]), "operation_task": int(task["id"])})
    plan = PD.row(conn, plan_form, int(new["plan"]))
    if new["inspection_type"] != FIRST or plan is None or not plan.get("blocks_production") or task.get("status") == "done":
        return
    later = [lt for lt in TL.lots_of(conn, lot_form, "operation_task", task["id"], FIRST)
             if int(lt["id"]) > lot_id and lt["status"] != "cancelled"]
    if later:
        return
    TL.open_lot(conn, forms, ctx, plan=plan, item=order["item"], lot=None, qty=task.get("qty") or order.get("qty"),
                sources=_sources(order, task),
                note=f"重新首检：{zh}的首检 {new.get('code')} 不合格 / first article again: {new.get('code')} of {en} was rejected")


# ---------------------------------------------------------------- job reports: the first-article block and patrols

def on_reports(conn: Connection, forms: Any, ctx: Ctx, reports: list[Mapping[str, Any]]) -> None:
    """After job reports are applied (the tasks hold their new quantities): refuse pieces past an
    unaccepted first article — good, scrap or rework of a report, a correction (更正) that adds any or
    moves pieces to good, whatever path created it (API, import, CLI) — then open the patrol lots the
    reports' good quantities call for."""
    moving = [r for r in reports if any(TL.dec(r.get(k)) != 0 for k in PIECES)]
    if not moving:
        return
    found = TL.installed(conn, forms)
    if found is None:
        return
    plan_form, lot_form = found
    task_form = forms.get(conn, PD.TASK)
    for r in moving:
        if not _item_has_plan(conn, forms, plan_form, task_form, int(r["task"])):
            continue        # the common case, no IPQC plan for the order's item: one narrow read, nothing more
        task = PD.row(conn, task_form, int(r["task"]))
        order = _order(conn, forms, r.get("production_order") or (task or {}).get("production_order"))
        if task is None or order is None:
            continue
        plans = TL.find_plans(conn, plan_form, (FIRST, PATROL), order.get("item"), operation=task.get("name"))
        if not plans:
            continue
        change = {k: TL.dec(r.get(k)) for k in PIECES}
        check_blocked(conn, ctx, plans.get(FIRST), lot_form, order, task, change, report=r)
        if r.get("event") in COUNTING and change["good_qty"] > 0:
            patrol_by_qty(conn, forms, ctx, plans.get(PATROL), lot_form, order, task, change["good_qty"])


def _item_has_plan(conn: Connection, forms: Any, plan_form: CompiledForm, task_form: CompiledForm, task_id: int) -> bool:
    """Whether an active first-article or patrol plan exists for the item of task ``task_id``'s order (whatever
    its operation: :func:`TL.find_plans` then chooses), in one statement built once per version of the forms."""
    order_form = forms.get(conn, PD.ORDER)
    key = ("ipqc_item_has_plan", task_form.version, order_form.version)
    q = plan_form.memo.get(key)
    if q is None:
        p, t, o = plan_form.main, task_form.main, order_form.main
        item = (sa.select(o.c.item).select_from(t.join(o, o.c.id == t.c.production_order))
                .where(t.c.id == sa.bindparam("task", type_=t.c.id.type)).scalar_subquery())
        q = plan_form.memo[key] = sa.select(sa.exists().where(
            p.c.deleted_at.is_(None), p.c.inspection_type.in_((FIRST, PATROL)), p.c.item == item,
            sa.or_(p.c.active.is_(True), p.c.active.is_(None))))
    return bool(conn.execute(q, {"task": task_id}).scalar())


def on_task_patched(conn: Connection, forms: Any, ctx: Ctx, task_id: int, old: Mapping[str, Any],
                    new: Mapping[str, Any]) -> None:
    """A task's quantities changed by hand (an administrator's edit of the read-only fields, not a job
    report): held by its first article like a report."""
    change = {k: TL.dec(new.get(k)) - TL.dec(old.get(k)) for k in PIECES}
    if not any(change.values()):
        return
    held = _task_in_order(conn, forms, task_id, new)
    if held is None:
        return
    plan_form, lot_form, task, order = held
    plan = TL.find_plan(conn, plan_form, FIRST, order.get("item"), operation=task.get("name"))
    check_blocked(conn, ctx, plan, lot_form, order, task, change, report=None)


def waiting_first_article(conn: Connection, forms: Any, task_ids: list[int]) -> dict[int, str]:
    """Of ``task_ids``, the tasks held by their first article (a plan that blocks production, the
    latest first-article lot not accepted): task id → that lot's number, for the dispatch list's
    『等待首检』."""
    found = TL.installed(conn, forms) if task_ids else None
    if found is None:
        return {}
    plan_form, lot_form = found
    t = lot_form.main
    rows = conn.execute(sa.select(t.c.id, t.c.operation_task, t.c.code, t.c.status, t.c.result, t.c.plan).where(
        t.c.deleted_at.is_(None), t.c.inspection_type == FIRST, t.c.status != "cancelled",
        t.c.operation_task.in_([int(i) for i in task_ids])).order_by(t.c.id)).all()
    latest = {int(r.operation_task): r for r in rows}
    p = plan_form.main
    blocking = set(conn.execute(sa.select(p.c.id).where(
        p.c.id.in_({int(r.plan) for r in latest.values() if r.plan is not None}), p.c.blocks_production.is_(True))).scalars())
    return {task: str(r.code) for task, r in latest.items()
            if r.plan in blocking and not (r.status == "judged" and r.result == "accepted")}


def mark_waiting(conn: Connection, forms: Any, ctx: Ctx, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The dispatch list's tasks, each with ``waiting_first_article`` (held by its first article: 等待首检)
    and ``first_article_lot`` (that lot's number, to a reader of inspection lots; else None)."""
    waiting = waiting_first_article(conn, forms, [int(t["id"]) for t in tasks if t.get("id") is not None])
    readable = _readable_codes(conn, forms, ctx, set(waiting.values()))
    for t in tasks:
        code = waiting.get(int(t["id"])) if t.get("id") is not None else None
        t["waiting_first_article"] = code is not None
        t["first_article_lot"] = code if code in readable else None
    return tasks


def _readable_codes(conn: Connection, forms: Any, ctx: Ctx, codes: set[str]) -> set[str]:
    """Those of the inspection lots numbered ``codes`` that the caller may read (her row scope applied: an
    operator reads the in-process lots only, docs/quality.md 读权限)."""
    if not codes:
        return set()
    compiled = forms.get(conn, TL.LOT)
    access = form_access(compiled, ctx.actor)
    if not access.can("read") or not ctx.actor.reads_form(TL.LOT):
        return set()
    scope = access.scope("read")
    if scope is None:
        return codes
    t = compiled.main
    q = sa.select(t.c.code).where(t.c.code.in_(sorted(codes)), t.c.deleted_at.is_(None), scope)
    return {str(c) for c in conn.execute(q).scalars()}


def _pieces(values: Mapping[str, Any]) -> Decimal:
    return sum((TL.dec(values.get(k)) for k in PIECES), Decimal(0))


def _change_text(change: Mapping[str, Decimal], report: Mapping[str, Any] | None, unit: str) -> tuple[str, str]:
    """『本次合格 2个、返工 30个』, 『本次更正合格 +30、返工 -30』 and the English."""
    q = TL.qty_text
    corr = report is not None and report.get("event") == "correct"
    parts = [(zh, en, v) for (k, v), zh, en in zip(change.items(), ("合格", "报废", "返工"), ("good", "scrap", "rework"))
             if v != 0]
    sign = (lambda v: f"+{q(v)}" if v > 0 else q(v)) if corr or report is None else q
    zh = "、".join(f"{z} {sign(v)}{unit}" for z, _, v in parts)
    en = ", ".join(f"{e} {sign(v)}" for _, e, v in parts)
    head = "本次更正" if corr else ("本次报工" if report is not None else "本次修改")
    return f"{head}{zh}", f"{'this correction' if corr else 'now'}: {en}"


def check_blocked(conn: Connection, ctx: Ctx, plan: Mapping[str, Any] | None, lot_form: CompiledForm,
                  order: Mapping[str, Any], task: Mapping[str, Any], change: Mapping[str, Decimal],
                  *, report: Mapping[str, Any] | None = None) -> None:
    """Refuse (409, in words) a change of the task's quantities (``task`` holds them after it) that makes
    more pieces (good + scrap + rework) or more good ones while the pieces made exceed the first-article
    samples and the latest first-article lot is not accepted, under a first-article ``plan`` that blocks
    production. Taking pieces back, or moving good to scrap, stays allowed."""
    if plan is None or not plan.get("blocks_production"):
        return
    more = sum(change.values(), Decimal(0)) > 0 or change.get("good_qty", Decimal(0)) > 0
    if not more:
        return
    lots = [lt for lt in TL.lots_of(conn, lot_form, "operation_task", task["id"], FIRST) if lt["status"] != "cancelled"]
    if not lots:
        return      # the task started before the plan existed: nothing to wait for
    latest = lots[-1]
    if latest["status"] == "judged" and latest.get("result") == "accepted":
        return
    allowed = sum((Decimal(int(lt.get("sample_size") or 1)) for lt in lots), Decimal(0))
    total = _pieces(task)
    if total <= allowed:
        return
    zh, en = _where(order, task)
    unit, q = order.get("unit") or "", TL.qty_text
    had = total - sum(change.values(), Decimal(0))
    now_zh, now_en = _change_text(change, report, unit)
    counts = (f"首检合格前最多报 {q(allowed)}{unit}（首件样品，合格、报废、返工合计，更正也算）："
              f"已报 {q(had)}{unit}，{now_zh}")
    counts_en = (f"until then at most {q(allowed)} pieces (the first-article samples; good, scrap and rework together, "
                 f"corrections too): {q(had)} before, {now_en}")
    if TL.opened_now(latest, ctx):     # opened by this very report, which is refused: it will not exist
        msg = (f"{zh}要先做首件检验：请先报「开工」（或本次只报首件 {q(allowed)}{unit}），首检合格后再报其余数量",
               f"{en} needs a first-article inspection first: report 'start' (or only the {q(allowed)} first pieces), "
               "and the rest once the first article is accepted")
    elif latest["status"] == "judged":
        msg = (f"{zh}的首件检验 {latest['code']} 判定不合格，新的首检还没有合格，{counts}；请处理不合格品单"
               f"{' ' + str(latest['ncr']) if latest.get('ncr') else ''}并调整后重新做首件，由质检员检验合格后再报数",
               f"the first article {latest['code']} of {en} was rejected and no new one is accepted yet; {counts_en}")
    else:
        waiting = latest
        msg = (f"{zh}的首件检验 {waiting['code']}（{TL.STATUS_ZH.get(waiting['status'], waiting['status'])}）还没有合格，"
               f"{counts}；请通知质检员检验首件，合格后再报数",
               f"the first article {waiting['code']} of {en} is not accepted yet ({waiting['status']}); {counts_en}; "
               "ask the inspector to judge it, then report the rest")
    field = next((k for k, v in change.items() if v > 0), "good_qty")
    raise Conflict(*msg, detail={"inspection_lot": latest.get("code"), "allowed": q(allowed), "order": order.get("code"),
                                 "operation": PD.task_title(task)},
                   problems=[Problem(f"/{field}", f"首检合格前最多 {q(allowed)}", f"at most {q(allowed)} before the first "
                                     "article is accepted", "first_article")])


def patrol_by_qty(conn: Connection, forms: Any, ctx: Ctx, plan: Mapping[str, Any] | None, lot_form: CompiledForm,
                  order: Mapping[str, Any], task: Mapping[str, Any], good: Decimal) -> list[dict[str, Any]]:
    """One patrol lot of ``plan`` for each multiple of its ``patrol_every_qty`` that this report's ``good``
    took the task's good quantity across (at most :data:`MAX_PATROL_PER_REPORT`). The report is
    counted once (a repeated client_id creates nothing), so each crossing opens its lot once."""
    every = TL.dec(plan.get("patrol_every_qty")) if plan is not None else Decimal(0)
    if plan is None or every <= 0:
        return []
    now_good = TL.dec(task.get("good_qty"))
    before = now_good - good
    first = int((before / every).to_integral_value(rounding=ROUND_FLOOR)) + 1
    last = int((now_good / every).to_integral_value(rounding=ROUND_FLOOR))
    zh, en = _where(order, task)
    out = []
    for k in range(max(first, 1), last + 1)[-MAX_PATROL_PER_REPORT:]:
        mark = TL.qty_text(every * k)
        out.append(TL.open_lot(conn, forms, ctx, plan=plan, item=order["item"], lot=None, qty=every,
                               sources=_sources(order, task),
                               note=f"巡检：{zh}合格数达到 {mark}（每 {TL.qty_text(every)} 件）/ patrol: {en} reached {mark} good"))
    return out


# ---------------------------------------------------------------- patrol by time

def patrol_tick(conn: Connection, forms: Any, ctx: Ctx) -> list[dict[str, Any]]:
    """Open a patrol lot for every running task whose plan's ``patrol_every_minutes`` passed since its
    last patrol lot (or its start). Idempotent: a second tick at once finds the lot just opened; each
    task's order and then the task are locked (FOR UPDATE on PostgreSQL) so two workers ticking
    together open one lot."""
    found = TL.installed(conn, forms)
    if found is None:
        return []
    plan_form, lot_form = found
    p = plan_form.main
    plans = [dict(r) for r in conn.execute(sa.select(p).where(
        p.c.deleted_at.is_(None), p.c.inspection_type == PATROL, p.c.patrol_every_minutes > 0,
        sa.or_(p.c.active.is_(True), p.c.active.is_(None)))).mappings()]
    if not plans:
        return []
    task_form, order_form = forms.get(conn, PD.TASK), forms.get(conn, PD.ORDER)
    t, o = task_form.main, order_form.main
    q = (sa.select(t.c.id, t.c.production_order, o.c.item).join(o, o.c.id == t.c.production_order)
         .where(t.c.deleted_at.is_(None), o.c.deleted_at.is_(None), t.c.status == "running",
                o.c.item.in_({int(pl["item"]) for pl in plans if pl.get("item") is not None})).order_by(t.c.id))
    out: list[dict[str, Any]] = []
    for task_id, order_id, item in conn.execute(q).all():
        # the order, then the task, locked (FOR UPDATE on PostgreSQL) as a job report locks them: two workers
        # ticking at once, or a tick and a report, take turns, and the second sees the first one's lot
        order = PD.row(conn, order_form, int(order_id), lock=True)
        task = PD.row(conn, task_form, int(task_id), lock=True)
        if order is None or task is None or task.get("status") != "running":
            continue
        plan = TL.find_plan(conn, plan_form, PATROL, item, operation=task.get("name"))
        minutes = int(plan.get("patrol_every_minutes") or 0) if plan is not None else 0
        if plan is None or minutes <= 0:
            continue
        since = _last_patrol(conn, lot_form, task)
        if since is None or TL.aware(ctx.now) - TL.aware(since) < dt.timedelta(minutes=minutes):
            continue
        zh, en = _where(order, task)
        out.append(TL.open_lot(conn, forms, ctx, plan=plan, item=item, lot=None, qty=plan.get("patrol_every_qty")
                               or task.get("qty") or order.get("qty"), sources=_sources(order, task),
                               note=f"巡检：{zh}已运行 {minutes} 分钟（每 {minutes} 分钟）/ patrol: every {minutes} min on {en}"))
    return out


def _last_patrol(conn: Connection, lot_form: CompiledForm, task: Mapping[str, Any]) -> dt.datetime | None:
    """When the task's last patrol lot was opened, else when it started."""
    t = lot_form.main
    last = conn.execute(sa.select(sa.func.max(t.c.created_at)).where(
        t.c.deleted_at.is_(None), t.c.operation_task == int(task["id"]), t.c.inspection_type == PATROL)).scalar()
    return last or task.get("actual_start")
