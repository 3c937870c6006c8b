"""Sign-in, tokens, users/roles/departments administration (files: routes_files)."""
from __future__ import annotations

import asyncio
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field, StrictInt, field_validator

from mom.platform.api.client_address import client_address
from mom.platform.api.deps import ActorDep, AdminDep, EngineDep, SettingsDep, TokenDep
from mom.platform.api.models import ERRORS, ErrorRead
from mom.platform.api.params import PathName, PathSmallId, QuerySmallId
from mom.platform.auth import scopes as scopes_mod
from mom.platform.auth import service as auth
from mom.platform.auth import directory, signin, throttle, tokens
from mom.platform.db import tables as T
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import AccessDenied, InsufficientScope, NotFound, ProblemList, did_you_mean

router = APIRouter(prefix="/api", tags=["auth & admin"], responses=ERRORS)


@router.post("/auth/token", summary="OAuth2 password flow: username + password -> bearer token (throttled)",
             responses={429: {"model": ErrorRead, "description": "too many failed sign-ins: wait Retry-After seconds or ask an administrator"}})
async def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request) -> dict[str, Any]:
    state = request.app.state
    engine, settings = state.engine, state.settings
    attempt = await run_in_threadpool(signin.begin, engine, settings, username=form.username, password=form.password,
                                      address=client_address(request, settings.trusted_proxies))
    # At most login_hash_concurrency password checks at once per process; the others wait here without
    # holding a worker thread, so a flood of guesses cannot take the CPU and threads other requests need.
    slots = getattr(state, "password_slots", None)
    if slots is None:
        slots = state.password_slots = asyncio.Semaphore(settings.login_hash_concurrency)
    async with slots:
        ok = await run_in_threadpool(signin.password_ok, attempt)
    return await run_in_threadpool(signin.finish, engine, settings, attempt, ok)


@router.get("/auth/me", summary="The signed-in user")
def me(actor: ActorDep, engine: EngineDep, settings: SettingsDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        name = conn.execute(sa.select(T.user.c.display_name).where(T.user.c.id == actor.id)).scalar()
    # timezone: the plant's, so the web app shows planned times as the plant reads them, whatever the browser's
    return {"id": actor.id, "username": actor.username, "display_name": name or actor.username, "is_admin": actor.is_admin,
            "department_id": actor.department_id, "roles": sorted(actor.role_names), "timezone": settings.timezone}


class ApiTokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[Annotated[str, Field(max_length=100)]] | None = Field(default=None, max_length=100, description=(
        "read | write | <area>:read|write | records:<form>:read|write; areas: " + ", ".join(scopes_mod.AREAS)
        + "; default [read, write]; within the scopes of the token creating it"))
    expires_in_days: StrictInt | None = Field(default=None, ge=1, le=36500, description="default api_token_default_days, "
                                        "at most api_token_max_days; never beyond the creating API token's expiry")
    days: StrictInt | None = Field(default=None, ge=1, le=36500, description="older name of expires_in_days")


@router.post("/auth/api-tokens", status_code=201, summary="An API token for a machine or integration: scoped, expiring",
             description="Needs a signed-in session or an API token with the scope `tokens:write`. The token text is "
                         "shown only in this answer. Revoking the creating token revokes this one too.")
def api_token(body: ApiTokenCreate, actor: ActorDep, parent: TokenDep, engine: EngineDep,
              settings: SettingsDep) -> dict[str, Any]:
    with write_tx(engine) as conn:
        return tokens.mint_api_token(conn, parent=parent, name=body.name, scopes=body.scopes,
                                     expires_in_days=body.expires_in_days or body.days,
                                     default_days=settings.api_token_default_days, max_days=settings.api_token_max_days)


@router.get("/auth/api-tokens", summary="API tokens of the signed-in user (an administrator may ask for user_id)")
def api_tokens(actor: ActorDep, engine: EngineDep, user_id: QuerySmallId = None) -> list[dict[str, Any]]:
    if user_id is not None and user_id != actor.id and not actor.is_admin:
        raise AccessDenied("只有管理员能查看别人的令牌", "only an administrator may list another user's tokens")
    with read_tx(engine) as conn:
        return tokens.list_api_tokens(conn, user_id if user_id is not None else actor.id)


@router.delete("/auth/tokens/{token_id}", summary="Revoke a token and every token created with it")
def revoke(token_id: PathSmallId, actor: ActorDep, current: TokenDep, engine: EngineDep) -> dict[str, Any]:
    if not current.may_mint and token_id != current.id:
        raise InsufficientScope("此 API 令牌不能吊销其他令牌：需要权限范围 tokens:write（它可以吊销自己）",
                                "this API token may not revoke other tokens: it needs the scope tokens:write "
                                "(it may revoke itself)", detail={"missing_scope": "tokens:write"})
    with write_tx(engine) as conn:
        revoked = tokens.revoke_token(conn, actor.id, token_id, is_admin=actor.is_admin)
    return {"id": token_id, "revoked": True, "revoked_ids": revoked}


RoleName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="role name")]


def _distinct(roles: list[str]) -> list[str]:
    """A role given twice is one role (it used to break the user_role key: 500)."""
    return list(dict.fromkeys(roles))


def _role_ids(conn: Any, roles: list[str]) -> list[int]:
    """The ids of existing roles; 422 naming each unknown one (``/roles/i``, code ``unknown``). Giving a user
    a role is no way to create it — a typo would take away every right — create it with POST /api/admin/roles."""
    known = dict(conn.execute(sa.select(T.role.c.name, T.role.c.id)).all())
    problems = ProblemList()
    for i, r in enumerate(roles):
        if r not in known:
            hint = did_you_mean(r, set(known))
            problems.add(f"/roles/{i}", f"没有角色 {r}{hint}：请从角色列表中选择，或先用 POST /api/admin/roles 创建它",
                         f"there is no role {r}{hint}: pick one from the list of roles, or create it first "
                         f"with POST /api/admin/roles", "unknown")
    problems.raise_if_any("有未知的角色，什么都没有改", "unknown role(s): nothing was changed")
    return [int(known[r]) for r in roles]


class UserCreate(BaseModel):
    username: str = Field(max_length=64)
    password: str | None = Field(default=None, max_length=200)
    display_name: str | None = Field(default=None, max_length=200)
    is_admin: bool = False
    department: str | None = Field(default=None, max_length=64, description="department code")
    roles: list[RoleName] = Field(default=[], max_length=100)
    _roles = field_validator("roles")(_distinct)


@router.post("/admin/users", status_code=201)
def add_user(body: UserCreate, actor: AdminDep, engine: EngineDep) -> dict[str, Any]:
    values = body.model_dump()
    if body.password is not None:   # hashed before the write transaction: scrypt takes tens of ms
        auth.check_password_policy(body.password)
        values["password_hash"] = auth.hash_password(values.pop("password"))
    with write_tx(engine) as conn:
        _role_ids(conn, body.roles)
        uid = auth.create_user(conn, **values)
    return {"id": uid, "username": body.username}


@router.get("/admin/users")
def users(actor: AdminDep, engine: EngineDep) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        roles: dict[int, list[str]] = {}
        for uid, name in conn.execute(sa.select(T.user_role.c.user_id, T.role.c.name).join(T.role)):
            roles.setdefault(uid, []).append(name)
        return [{"id": r.id, "username": r.username, "display_name": r.display_name, "is_admin": r.is_admin,
                 "is_active": r.is_active, "department_id": r.department_id, "roles": sorted(roles.get(r.id, []))}
                for r in conn.execute(sa.select(T.user).order_by(T.user.c.id))]


class RoleCreate(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    label: dict[str, str] | str | None = None


@router.post("/admin/roles", status_code=201)
def add_role(body: RoleCreate, actor: AdminDep, engine: EngineDep) -> dict[str, Any]:
    with write_tx(engine) as conn:
        return {"id": auth.ensure_role(conn, body.name, body.label), "name": body.name}


@router.get("/admin/roles")
def list_roles(actor: ActorDep, engine: EngineDep) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(T.role).order_by(T.role.c.name))]


UserName = Annotated[str, Field(max_length=64, description="username")]


class DepartmentCreate(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    parent: str | None = Field(default=None, max_length=64)
    head: UserName | None = Field(default=None, description="主管: the username of the department's head")
    deputy: UserName | None = Field(default=None, description="副主管: answers department-head approvals when the head "
                                                              "is not set or is disabled")


class DepartmentUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    parent: str | None = Field(default=None, max_length=64, description="parent department code; null: a top department")
    head: UserName | None = Field(default=None, description="username; null clears")
    deputy: UserName | None = Field(default=None, description="username; null clears")


@router.post("/admin/departments", status_code=201, summary="Create a department (with its head and deputy)")
def add_department(body: DepartmentCreate, actor: AdminDep, engine: EngineDep) -> dict[str, Any]:
    with write_tx(engine) as conn:
        return directory.create_department(conn, body.code, body.name, body.parent, head=body.head, deputy=body.deputy)


@router.patch("/admin/departments/{code}", summary="Change a department: name, parent, head, deputy (only what is given)")
def change_department(code: PathName, body: DepartmentUpdate, actor: AdminDep, engine: EngineDep) -> dict[str, Any]:
    given = body.model_dump(exclude_unset=True)
    with write_tx(engine) as conn:
        return directory.update_department(conn, code, **given)


@router.get("/admin/departments", summary="Departments with parent, head, deputy and member count")
def list_departments(actor: ActorDep, engine: EngineDep) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        return directory.listing(conn)


class UserRoles(BaseModel):
    roles: list[RoleName] = Field(max_length=100)
    _roles = field_validator("roles")(_distinct)


@router.put("/admin/users/{user_id}/roles")
def set_roles(user_id: PathSmallId, body: UserRoles, actor: AdminDep, engine: EngineDep) -> dict[str, Any]:
    with write_tx(engine) as conn:
        if conn.execute(sa.select(T.user.c.id).where(T.user.c.id == user_id)).scalar() is None:
            raise NotFound(f"用户 {user_id} 不存在", f"user {user_id} does not exist")
        ids = _role_ids(conn, body.roles)
        conn.execute(T.user_role.delete().where(T.user_role.c.user_id == user_id))
        for rid in ids:
            conn.execute(T.user_role.insert().values(user_id=user_id, role_id=rid))
    return {"id": user_id, "roles": body.roles}


# ------------------------------------------------------------------ sign-in throttling (issue 16 item 5)

@router.get("/admin/login-locks", summary="User names and addresses with failed sign-ins: counts, back-off, locks; "
                                          "and the latest lock/unlock entries")
def login_locks(actor: AdminDep, engine: EngineDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return throttle.listing(conn, tokens.now())


@router.post("/admin/users/{user_id}/unlock", summary="Lift a user's sign-in lock or back-off and forget the failures")
def unlock_user(user_id: PathSmallId, actor: AdminDep, engine: EngineDep) -> dict[str, Any]:
    with write_tx(engine) as conn:
        name = conn.execute(sa.select(T.user.c.username).where(T.user.c.id == user_id)).scalar()
        if name is None:
            raise NotFound(f"用户 {user_id} 不存在", f"user {user_id} does not exist")
        lifted = throttle.unlock(conn, throttle.USER, name, actor_id=actor.id, record_id=user_id, at=tokens.now())
    return {"id": user_id, "username": name, "unlocked": lifted}


class AddressUnlock(BaseModel):
    address: str = Field(min_length=1, max_length=255, description="client address as listed by GET /api/admin/login-locks")


@router.post("/admin/login-locks/unlock", summary="Lift a client address's sign-in lock or back-off")
def unlock_address(body: AddressUnlock, actor: AdminDep, engine: EngineDep) -> dict[str, Any]:
    with write_tx(engine) as conn:
        lifted = throttle.unlock(conn, throttle.ADDRESS, body.address, actor_id=actor.id, at=tokens.now())
    if not lifted:
        raise NotFound(f"地址 {body.address} 没有登录失败记录", f"address {body.address} has no failed sign-ins")
    return {"address": body.address, "unlocked": True}
