"""代理人 and 离职交接: out-of-office proxies and handing a leaver's open tasks to someone else.

A user (or an administrator for them) sets a proxy for a period: tasks created for the user within it
go to the proxy, marked ``on_behalf_of`` the user (the inbox and the timeline show "代 X 审批"). Tasks
the user already holds stay theirs. An administrator hands all of a user's open tasks (to approve, to
answer a delegation, unread copies) to another user at once: the tasks keep their place in their nodes,
each instance's timeline says who took them over.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.workflow import assign
from mom.engines.workflow.runtime import OPEN, TK, Runtime, batched, event, load_instance, notify_users
from mom.platform.db import tables as T
from mom.platform.errors import AccessDenied, Conflict, InvalidInput, NotFound, Problem

P = T.wf_proxy
#: A proxy period is at most this long, and a user has at most this many current or future periods.
MAX_DAYS, MAX_PERIODS = 366, 20


def active_proxies(conn: Connection, users: Iterable[int], now: dt.datetime) -> dict[int, int]:
    """The proxy in force now for each of ``users`` who has one (an active user other than themselves)."""
    want = sorted(set(users))
    if not want:
        return {}
    rows = conn.execute(sa.select(P.c.user_id, P.c.proxy_id).join(T.user, T.user.c.id == P.c.proxy_id)
                        .where(P.c.user_id.in_(want), P.c.starts_at <= now, P.c.ends_at > now, T.user.c.is_active.is_(True))
                        .order_by(P.c.id)).all()
    return {int(u): int(p) for u, p in rows}


def _user(conn: Connection, name: Any, path: str) -> int:
    if not isinstance(name, str) or not name or len(name) > 64:
        raise InvalidInput("请选择一个用户", "choose a user", problems=[Problem(path, "必填：用户名", "required: a username", "required")])
    uid = assign.user_id(conn, name)
    if uid is None:
        raise InvalidInput(f"用户 {name} 不存在或已停用", f"user {name} does not exist or is disabled",
                           problems=[Problem(path, f"用户 {name} 不存在或已停用，请另选", f"user {name} does not exist or is disabled", "unknown_user")])
    return uid


def _time(v: Any, path: str, tz: dt.tzinfo) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(str(v).replace("Z", "+00:00")) if isinstance(v, str) and len(v) <= 40 else None
    except ValueError:
        t = None
    if t is None:
        raise InvalidInput("时间格式不对，请选择日期和时间", "the time is not valid; pick a date and time",
                           problems=[Problem(path, "应为日期时间，如 2026-12-01T08:00", "expected a date-time such as 2026-12-01T08:00", "format")])
    return (t if t.tzinfo else t.replace(tzinfo=tz)).astimezone(dt.timezone.utc)


def _view(conn: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    names = assign.usernames(conn, [r.user_id for r in rows] + [r.proxy_id for r in rows])
    ids = {r.user_id for r in rows} | {r.proxy_id for r in rows}
    login = {int(i): n for i, n in conn.execute(sa.select(T.user.c.id, T.user.c.username).where(T.user.c.id.in_(ids)))} if rows else {}
    return [{"id": int(r.id), "user": login.get(r.user_id), "user_name": names.get(r.user_id), "proxy": login.get(r.proxy_id),
             "proxy_name": names.get(r.proxy_id), "starts_at": r.starts_at.isoformat().replace("+00:00", "Z"),
             "ends_at": r.ends_at.isoformat().replace("+00:00", "Z")} for r in rows]


def listing(conn: Connection, actor: Any, *, everyone: bool = False, now: dt.datetime) -> list[dict[str, Any]]:
    """Current and future proxy periods: the actor's own (as user or as proxy), or everyone's (administrators)."""
    q = sa.select(P).where(P.c.ends_at > now)
    if not (everyone and actor.is_admin):
        q = q.where(sa.or_(P.c.user_id == actor.id, P.c.proxy_id == actor.id))
    return _view(conn, conn.execute(q.order_by(P.c.starts_at, P.c.id).limit(500)).all())


def set_proxy(conn: Connection, actor: Any, body: Any, *, now: dt.datetime, tz: dt.tzinfo) -> dict[str, Any]:
    """Add a proxy period ``{proxy, starts_at, ends_at, user?}`` (``user``: administrators only, default the actor)."""
    if not isinstance(body, dict):
        raise InvalidInput("请求体应为对象", "the body must be an object")
    user = actor.id
    if body.get("user") not in (None, "", actor.username):
        if not actor.is_admin:
            raise AccessDenied("无权限：只能为自己设置代理人（管理员可为他人设置）", "you may set a proxy for yourself only (administrators for anyone)")
        user = _user(conn, body["user"], "/user")
    proxy = _user(conn, body.get("proxy"), "/proxy")
    if proxy == user:
        raise InvalidInput("代理人不能是本人，请另选", "the proxy cannot be the user themselves",
                           problems=[Problem("/proxy", "不能是本人", "cannot be the user themselves", "invalid")])
    starts = _time(body.get("starts_at") or now.isoformat(), "/starts_at", tz)
    ends = _time(body.get("ends_at"), "/ends_at", tz)
    if ends <= starts or ends <= now:
        raise InvalidInput("结束时间须晚于开始时间和现在", "the end must be after the start and after now",
                           problems=[Problem("/ends_at", "须晚于开始时间和现在", "must be after the start and now", "invalid")])
    if ends - starts > dt.timedelta(days=MAX_DAYS):
        raise InvalidInput(f"代理期最长 {MAX_DAYS} 天，请缩短", f"a proxy period is at most {MAX_DAYS} days",
                           problems=[Problem("/ends_at", f"最长 {MAX_DAYS} 天", f"at most {MAX_DAYS} days", "too_long")])
    mine = conn.execute(sa.select(P).where(P.c.user_id == user, P.c.ends_at > now)).all()
    if len(mine) >= MAX_PERIODS:
        raise InvalidInput(f"最多设置 {MAX_PERIODS} 个代理期，请先删除旧的", f"at most {MAX_PERIODS} proxy periods")
    if any(r.starts_at < ends and starts < r.ends_at for r in mine):
        raise Conflict("与已设置的代理期重叠，请先删除或调整原来的", "it overlaps a proxy period already set; remove or change that one first")
    pid = int(conn.execute(P.insert().returning(P.c.id), {"user_id": user, "proxy_id": proxy, "starts_at": starts, "ends_at": ends,
                                                          "created_at": now, "created_by": actor.id}).scalar_one())
    return _view(conn, conn.execute(sa.select(P).where(P.c.id == pid)).all())[0]


def delete_proxy(conn: Connection, actor: Any, proxy_id: int) -> None:
    row = conn.execute(sa.select(P).where(P.c.id == proxy_id)).first()
    if row is None:
        raise NotFound(f"代理设置 {proxy_id} 不存在", f"proxy period {proxy_id} does not exist")
    if row.user_id != actor.id and not actor.is_admin:
        raise AccessDenied("无权限：只能删除自己的代理设置", "you may remove your own proxy periods only")
    conn.execute(P.delete().where(P.c.id == proxy_id))


def handover(rt: Runtime, from_name: Any, to_name: Any, comment: Any = None) -> dict[str, Any]:
    """离职交接 (administrators): every open task of ``from`` (approve, answer a delegation, unread copies)
    goes to ``to``; returns how many tasks moved and the instances they belong to."""
    if not rt.ctx.actor.is_admin:
        raise AccessDenied("无权限：离职交接需要管理员", "handing over tasks needs an administrator")
    if comment is not None and (not isinstance(comment, str) or len(comment) > 2000):
        raise InvalidInput("说明应为不超过 2000 字的文本", "comment must be text of at most 2000 characters",
                           problems=[Problem("/comment", "应为文本（最多 2000 字）", "text of at most 2000 characters", "type")])
    uid = rt.conn.execute(sa.select(T.user.c.id).where(T.user.c.username == from_name)).scalar() if isinstance(from_name, str) else None
    if uid is None:
        raise InvalidInput(f"用户 {from_name} 不存在", f"user {from_name} does not exist",
                           problems=[Problem("/from", "请选择交出待办的用户", "choose the user whose tasks are handed over", "unknown_user")])
    to = _user(rt.conn, to_name, "/to")
    if to == uid:
        raise InvalidInput("接手人不能是本人", "the new holder cannot be the same user",
                           problems=[Problem("/to", "不能与交出人相同", "cannot be the same user", "invalid")])
    open_cc = sa.and_(TK.c.kind == "cc", TK.c.read_at.is_(None))
    rows = rt.conn.execute(sa.select(TK.c.id, TK.c.instance_id, TK.c.node_id, TK.c.on_behalf_of)
                           .where(TK.c.assignee_id == uid, sa.or_(TK.c.status.in_(OPEN), open_cc)).order_by(TK.c.id)).all()
    by_instance: dict[int, list[int]] = {}
    for r in rows:
        by_instance.setdefault(int(r.instance_id), []).append(int(r.id))
    with batched(rt):
        for iid, ids in by_instance.items():
            inst = load_instance(rt, iid)
            rt.conn.execute(TK.update().where(TK.c.id.in_(ids)).values(
                assignee_id=to, on_behalf_of=sa.func.coalesce(TK.c.on_behalf_of, uid)))
            event(rt, inst, "handover", comment=comment, data={"from": uid, "to": to, "tasks": ids})
        moved = sum(len(v) for v in by_instance.values())
        if moved:
            notify_users(rt, [to], "todo", f"离职交接：{moved} 项待办已转给你")
    return {"moved": moved, "instances": sorted(by_instance)}
