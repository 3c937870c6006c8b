"""FastAPI dependencies: the engine, the form registry and the request context (who, when)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.engine import Engine

from mom.engines.forms import fieldtypes
from mom.engines.forms.store import FormRegistry
from mom.engines.records.context import Actor, Ctx, load_actor
from mom.platform.auth import scopes, tokens
from mom.platform.db.engine import read_tx
from mom.platform.errors import AccessDenied, AuthRequired, InvalidInput, Problem
from mom.platform.settings import Settings

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


# Pure dependencies are async so that FastAPI does not hop to the threadpool for each of them.
async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


async def get_registry(request: Request) -> FormRegistry:
    return request.app.state.registry


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


EngineDep = Annotated[Engine, Depends(get_engine)]
RegistryDep = Annotated[FormRegistry, Depends(get_registry)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


class ActorCache:
    """Token -> actor (user, roles, departments) for a few seconds, so that a busy client does not cost
    four queries per request. The token itself is checked on every request (revocation, expiry, a
    disabled user take effect at once on every worker); a changed role takes effect within ``ttl``."""

    def __init__(self, ttl: float = 5.0, size: int = 10000) -> None:
        self.ttl, self.size = ttl, size
        self._items: dict[str, tuple[float, Actor, tokens.TokenInfo | None]] = {}

    def get(self, token: str) -> Actor | None:
        hit = self._items.get(token)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return None

    def entry(self, token: str) -> tuple[Actor, tokens.TokenInfo] | None:
        """The actor and the token as read when it was last looked up in full (a token's scopes never change)."""
        hit = self._items.get(token)
        if hit is not None and hit[0] > time.monotonic() and hit[2] is not None:
            return hit[1], hit[2]
        return None

    def put(self, token: str, actor: Actor, info: tokens.TokenInfo | None = None) -> None:
        if len(self._items) >= self.size:
            self._items.clear()
        self._items[token] = (time.monotonic() + self.ttl, actor, info)

    def drop(self, token: str) -> None:
        self._items.pop(token, None)


def _load_actor(engine: Engine, token: str) -> tuple[tokens.TokenInfo, Actor | None]:
    with read_tx(engine) as conn:
        info = tokens.token_info(conn, token)
        return info, load_actor(conn, info.user_id)


# The request's own dependencies read the app state directly rather than through the dependencies
# above: FastAPI solves each sub-dependency at some cost on every request, and every endpoint has these.
async def current_actor(request: Request, token: Annotated[str | None, Depends(oauth2)]) -> Actor:
    """The signed-in user of a request whose token is valid now and whose scopes allow this request."""
    if not token:
        raise AuthRequired("请先登录（Authorization: Bearer <token>）", "sign in first (Authorization: Bearer <token>)")
    state = request.app.state
    actor = state.actor_cache.get(token)
    if actor is None:
        info, actor = await run_in_threadpool(_load_actor, state.engine, token)
        if actor is None:
            raise AuthRequired("用户已停用", "the user is disabled")
        state.actor_cache.put(token, actor, info)
    else:
        # one lookup by the unique token hash: in the event loop (awaited on PostgreSQL), no thread hop
        lookup = getattr(state, "token_lookup", None)
        if lookup is None:
            lookup = state.token_lookup = tokens.TokenLookup(state.engine)
        info = await lookup.check(token)
    if info.scopes is not None:   # a session has the user's full rights; only API tokens carry scopes
        route = request.scope.get("route")
        scopes.require(info.scopes, request.method, route.path if route is not None else request.url.path,
                       request.path_params, info.id)
    request.state.token = info
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]


# Record create (issue 16, create throughput): the token's row is read by the write transaction itself.
async def current_actor_checked_in_write(request: Request, token: Annotated[str | None, Depends(oauth2)]) -> Actor:
    """:func:`current_actor` for an endpoint whose write transaction reads the token's row as its first
    statement (:func:`check_token_in`): when the actor is cached and the token's scopes allow the request,
    the lookup is left to that transaction, which starts after the request arrived, so a revocation,
    an expiry or a disabled user committed before is still refused (401, nothing written). Otherwise
    (unknown token, missing scope: 401 before 403 as everywhere) it is :func:`current_actor`."""
    state = request.app.state
    hit = state.actor_cache.entry(token) if token else None
    if hit is not None:
        actor, info = hit
        route = request.scope.get("route")
        if info.scopes is None or scopes.allows(info.scopes, request.method, route.path if route is not None else
                                                request.url.path, request.path_params, info.id):
            request.state.token = info
            request.state.token_unchecked = token
            return actor
    return await current_actor(request, token)


def check_token_in(request: Request, conn: Any) -> None:
    """In the endpoint's write transaction: read the token :func:`current_actor_checked_in_write` left
    unchecked (401, and it leaves the actor cache, when it is no longer valid)."""
    token = getattr(request.state, "token_unchecked", None)
    if token is None:
        return
    state = request.app.state
    lookup = getattr(state, "token_lookup", None)
    if lookup is None:
        lookup = state.token_lookup = tokens.TokenLookup(state.engine)
    try:
        lookup.in_transaction(conn, token)
    except AuthRequired:
        state.actor_cache.drop(token)
        raise


async def get_write_ctx(request: Request, actor: Annotated[Actor, Depends(current_actor_checked_in_write)]) -> Ctx:
    actor = _narrowed(request, actor)
    return Ctx(actor=actor, now=dt.datetime.now(dt.timezone.utc), tz=fieldtypes.plant_tz(request.app.state.settings.timezone))


#: the request context of an endpoint that calls :func:`check_token_in` first in its write transaction
WriteCtxDep = Annotated[Ctx, Depends(get_write_ctx)]


async def current_token(request: Request, actor: ActorDep) -> tokens.TokenInfo:
    """The token of the request (after :func:`current_actor` accepted it): its kind, scopes and expiry."""
    return request.state.token


TokenDep = Annotated[tokens.TokenInfo, Depends(current_token)]


def _narrowed(request: Request, actor: Actor) -> Actor:
    """The actor with the forms its API token is narrowed to (issue 16 review item 2; most tokens: as is)."""
    info = getattr(request.state, "token", None)
    forms = scopes.record_forms(tuple(info.scopes)) if info is not None and info.scopes is not None else None
    return actor if forms is None else dataclasses.replace(actor, token_forms=forms)


async def get_ctx(request: Request, actor: ActorDep) -> Ctx:
    actor = _narrowed(request, actor)
    return Ctx(actor=actor, now=dt.datetime.now(dt.timezone.utc), tz=fieldtypes.plant_tz(request.app.state.settings.timezone))


CtxDep = Annotated[Ctx, Depends(get_ctx)]


async def require_admin(actor: ActorDep) -> Actor:
    if not actor.is_admin:
        raise AccessDenied("需要管理员权限", "administrator rights are required")
    return actor


AdminDep = Annotated[Actor, Depends(require_admin)]


def same_name(name: str, body: Any) -> None:
    """A published definition's ``name`` must be the one in the path (PUT /api/workflows|rules|reports|…/{name})."""
    if isinstance(body, dict) and body.get("name") != name:
        raise InvalidInput(f"路径中的名称 {name} 与定义中的 name 不一致", f"the name in the path ({name}) differs from the definition's name",
                           problems=[Problem("/name", f"应为 {name}", f"expected {name}", "mismatch")])
