"""Form permissions in plain words, for the publish dialog (谁可以填写 / 谁可以查看全部记录): the choices
(roles and departments by name), composing the answers into ``permissions``, and reading a list back."""
from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Body

from mom.platform.api.deps import ActorDep, EngineDep
from mom.platform.api.models import ERRORS
from mom.platform.auth import grants
from mom.platform.db import tables as T
from mom.platform.db.engine import read_tx
from mom.platform.errors import InvalidInput, Problem

router = APIRouter(prefix="/api/permissions", tags=["forms"], responses=ERRORS)
MAX_ENTRIES = 100


def _role_list(roles: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": k, "label": {"zh-CN": grants.role_text(k, v, "zh-CN"), "en": grants.role_text(k, v, "en")}}
            for k, v in sorted(roles.items())]


@router.get("/choices", summary="Roles and departments by name, and the default answers a new form gets")
def choices(actor: ActorDep, engine: EngineDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        roles = grants.role_names(conn)
        depts = [{"id": r.id, "code": r.code, "name": r.name, "parent_id": r.parent_id}
                 for r in conn.execute(sa.select(T.department).order_by(T.department.c.code))]
    perms = grants.default_permissions()
    return {"roles": _role_list(roles), "departments": depts, "default": grants.DEFAULT_ANSWERS,
            "default_permissions": perms, "default_text": grants.describe(perms, roles, {d["code"]: d["name"] for d in depts}),
            "questions": {"fill": {"zh-CN": "谁可以填写", "en": "Who may fill it in"},
                          "see_all": {"zh-CN": "谁可以查看全部记录", "en": "Who may see all records"}}}


@router.post("/compose", summary="The permissions entries for the publish dialog's answers, told back in words")
def compose(actor: ActorDep, engine: EngineDep, answers: Annotated[Any, Body()]) -> dict[str, Any]:
    with read_tx(engine) as conn:
        roles, depts = grants.role_names(conn), grants.department_names(conn)
    perms = grants.compose(answers, known_roles=roles, known_departments=depts)
    return {"permissions": perms, "text": grants.describe(perms, roles, depts)}


@router.post("/describe", summary="A permissions list in words (role names, not keys), and the dialog's answers when "
                                  "the two questions can say it")
def describe(actor: ActorDep, engine: EngineDep, body: Annotated[Any, Body()]) -> dict[str, Any]:
    perms = body.get("permissions") if isinstance(body, dict) else None
    if not isinstance(perms, list) or len(perms) > MAX_ENTRIES:
        raise InvalidInput("请给出 permissions 列表（至多 100 条）", "give a permissions list (at most 100 entries)",
                           problems=[Problem("/permissions", "应为列表", "expected a list", "type")])
    with read_tx(engine) as conn:
        roles, depts = grants.role_names(conn), grants.department_names(conn)
    return {"text": grants.describe(perms, roles, depts), "answers": grants.answers_of(perms)}
