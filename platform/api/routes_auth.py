"""Sign-in, tokens, users/roles/departments administration (files: routes_files)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field, field_validator

from mom.platform.api.deps import ActorDep, AdminDep, EngineDep, SettingsDep
from mom.platform.api.params import PathSmallId
from mom.platform.auth import service as auth
from mom.platform.db import tables as T
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import NotFound

router = APIRouter(prefix="/api", tags=["auth & admin"])


@router.post("/auth/token", summary="OAuth2 password flow: username + password -> bearer token")
def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], engine: EngineDep, settings: SettingsDep) -> dict[str, Any]:
    with write_tx(engine) as conn:
        return auth.login(conn, form.username, form.password, dt.timedelta(minutes=settings.token_ttl_minutes))


@router.get("/auth/me", summary="The signed-in user")
def me(actor: ActorDep, engine: EngineDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        name = conn.execute(sa.select(T.user.c.display_name).where(T.user.c.id == actor.id)).scalar()
    return {"id": actor.id, "username": actor.username, "display_name": name or actor.username, "is_admin": actor.is_admin,
            "department_id": actor.department_id, "roles": sorted(actor.role_names)}


class ApiTokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    days: int | None = Field(default=None, ge=1, le=3650, description="expiry in days; none = until revoked")


@router.post("/auth/api-tokens", status_code=201, summary="A long-lived token for a machine or integration")
def api_token(body: ApiTokenCreate, actor: ActorDep, engine: EngineDep) -> dict[str, Any]:
    with write_tx(engine) as conn:
        return auth.issue_token(conn, actor.id, kind="api", name=body.name,
                                ttl=dt.timedelta(days=body.days) if body.days else None)


@router.delete("/auth/tokens/{token_id}", summary="Revoke a token")
def revoke(token_id: PathSmallId, actor: ActorDep, engine: EngineDep) -> dict[str, Any]:
    with write_tx(engine) as conn:
        auth.revoke_token(conn, actor.id, token_id, is_admin=actor.is_admin)
    return {"id": token_id, "revoked": True}


RoleName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="role name")]


def _distinct(roles: list[str]) -> list[str]:
    """A role given twice is one role (it used to break the user_role key: 500)."""
    return list(dict.fromkeys(roles))


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
    with write_tx(engine) as conn:
        uid = auth.create_user(conn, **body.model_dump())
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


class DepartmentCreate(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    parent: str | None = Field(default=None, max_length=64)


@router.post("/admin/departments", status_code=201)
def add_department(body: DepartmentCreate, actor: AdminDep, engine: EngineDep) -> dict[str, Any]:
    with write_tx(engine) as conn:
        return {"id": auth.ensure_department(conn, body.code, body.name, body.parent), "code": body.code}


@router.get("/admin/departments")
def list_departments(actor: ActorDep, engine: EngineDep) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(T.department).order_by(T.department.c.code))]


class UserRoles(BaseModel):
    roles: list[RoleName] = Field(max_length=100)
    _roles = field_validator("roles")(_distinct)


@router.put("/admin/users/{user_id}/roles")
def set_roles(user_id: PathSmallId, body: UserRoles, actor: AdminDep, engine: EngineDep) -> dict[str, Any]:
    with write_tx(engine) as conn:
        if conn.execute(sa.select(T.user.c.id).where(T.user.c.id == user_id)).scalar() is None:
            raise NotFound(f"用户 {user_id} 不存在", f"user {user_id} does not exist")
        conn.execute(T.user_role.delete().where(T.user_role.c.user_id == user_id))
        for r in body.roles:
            conn.execute(T.user_role.insert().values(user_id=user_id, role_id=auth.ensure_role(conn, r)))
    return {"id": user_id, "roles": body.roles}
