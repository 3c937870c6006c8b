"""FastAPI dependencies: the engine, the form registry and the request context (who, when)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.engine import Engine

from mom.engines.forms import fieldtypes
from mom.engines.forms.store import FormRegistry
from mom.engines.records.context import Actor, Ctx, load_actor
from mom.platform.auth import service as auth
from mom.platform.db.engine import read_tx
from mom.platform.errors import AccessDenied, AuthRequired
from mom.platform.settings import Settings

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_registry(request: Request) -> FormRegistry:
    return request.app.state.registry


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


EngineDep = Annotated[Engine, Depends(get_engine)]
RegistryDep = Annotated[FormRegistry, Depends(get_registry)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def current_actor(engine: EngineDep, token: Annotated[str | None, Depends(oauth2)]) -> Actor:
    if not token:
        raise AuthRequired("请先登录（Authorization: Bearer <token>）", "sign in first (Authorization: Bearer <token>)")
    with read_tx(engine) as conn:
        actor = load_actor(conn, auth.user_for_token(conn, token))
    if actor is None:
        raise AuthRequired("用户已停用", "the user is disabled")
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]


def get_ctx(actor: ActorDep, settings: SettingsDep) -> Ctx:
    return Ctx(actor=actor, now=dt.datetime.now(dt.timezone.utc), tz=fieldtypes.plant_tz(settings.timezone))


CtxDep = Annotated[Ctx, Depends(get_ctx)]


def require_admin(actor: ActorDep) -> Actor:
    if not actor.is_admin:
        raise AccessDenied("需要管理员权限", "administrator rights are required")
    return actor


AdminDep = Annotated[Actor, Depends(require_admin)]
