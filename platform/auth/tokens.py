"""Bearer tokens: sign-in sessions and API tokens for machines and integrations.

A token is random, shown once, and stored only as its SHA-256. A session (``kind`` "session") comes
from signing in, lasts ``token_ttl_minutes`` and carries the user's full rights. An API token
(``kind`` "api") always expires (``api_token_default_days``, at most ``api_token_max_days``), carries
scopes (see :mod:`mom.platform.auth.scopes`) and remembers the token it was created with: revoking a
token revokes every token created with it, down the whole chain. Every request reads its token's row
(one lookup by a unique index), so a revocation, an expiry or a disabled user takes effect at once on
every worker process.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mom.platform.auth import scopes as S
from mom.platform.db import tables as T
from mom.platform.errors import AuthRequired, InvalidInput, NotFound, Problem


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def iso(t: dt.datetime | None) -> str | None:
    return t.isoformat().replace("+00:00", "Z") if t else None


@dataclass(frozen=True)
class TokenInfo:
    """The token a request came with, as stored now."""

    id: int
    user_id: int
    kind: str                           # session | api
    scopes: tuple[str, ...] | None      # None: a session, the user's full rights
    expires_at: dt.datetime | None

    @property
    def may_mint(self) -> bool:
        """Sessions and API tokens holding ``tokens:write`` may create (and revoke) tokens."""
        return self.scopes is None or S.grants(self.scopes, S.Scope("tokens", None, "write"))


def issue_token(conn: Connection, user_id: int, *, kind: str = "session", name: str | None = None,
                ttl: dt.timedelta | None = None, scopes: tuple[str, ...] | list[str] | None = None,
                parent_id: int | None = None, expires_at: dt.datetime | None = None) -> dict[str, Any]:
    """Store a new token and return it (the only time its text is seen). An API token given no
    scopes gets ``read`` and ``write`` (not ``tokens:write``)."""
    if kind == "api" and scopes is None:
        scopes = ("read", "write")
    token = "mom_" + secrets.token_urlsafe(32)
    created = now()
    expires = expires_at or (created + ttl if ttl else None)
    tid = conn.execute(T.token.insert().values(
        token_hash=hash_token(token), user_id=user_id, kind=kind, name=name, created_at=created, expires_at=expires,
        scopes=list(scopes) if scopes is not None else None, parent_id=parent_id).returning(T.token.c.id)).scalar_one()
    out: dict[str, Any] = {"access_token": token, "token_type": "bearer", "id": int(tid), "expires_at": iso(expires)}
    if kind == "api":
        out.update(name=name, scopes=list(scopes or ()), parent_id=parent_id)
    return out


def mint_api_token(conn: Connection, *, parent: TokenInfo, name: str, scopes: list[str] | None,
                   expires_in_days: int | None, default_days: int, max_days: int) -> dict[str, Any]:
    """An API token created with the token ``parent`` (a session, or an API token with ``tokens:write``).

    Its scopes must lie within the parent's and it cannot outlive an API-token parent. The parent's
    row is locked and re-read here, so a revocation running at the same time either sees this new
    token (and revokes it too) or makes this call fail."""
    if not parent.may_mint:
        raise S.InsufficientScope(
            "此 API 令牌不能创建新令牌：需要权限范围 tokens:write（或用账号密码登录后创建）",
            "this API token may not create tokens: it needs the scope tokens:write (or sign in with a password)",
            detail={"missing_scope": "tokens:write", "token_scopes": list(parent.scopes or ())})
    wanted = S.validate(scopes if scopes is not None else ["read", "write"])
    if parent.scopes is not None:
        beyond = [s for s in wanted if not S.grants(parent.scopes, S.parse(s))]  # type: ignore[arg-type]
        if beyond:
            raise S.InsufficientScope(f"新令牌的权限范围不能超出当前令牌：{'、'.join(beyond)} 不在 {'、'.join(parent.scopes)} 之内",
                               f"a new token cannot have more scopes than the token creating it: {', '.join(beyond)} "
                               f"is not within {', '.join(parent.scopes)}",
                                      detail={"missing_scope": beyond[0], "token_scopes": list(parent.scopes)})
    days = expires_in_days if expires_in_days is not None else default_days
    if days > max_days:
        raise InvalidInput(f"有效期最长 {max_days} 天", f"a token may last at most {max_days} days",
                           problems=[Problem("/expires_in_days", f"最大 {max_days}", f"at most {max_days}", "max")])
    expires = now() + dt.timedelta(days=days)
    row = conn.execute(sa.select(T.token.c.revoked_at, T.token.c.expires_at).where(T.token.c.id == parent.id)
                       .with_for_update()).first()
    if row is None or row.revoked_at is not None:
        raise AuthRequired("登录已失效（令牌已吊销），请重新登录", "the token was revoked; sign in again")
    if parent.kind == "api" and row.expires_at is not None:
        expires = min(expires, row.expires_at)
    return issue_token(conn, parent.user_id, kind="api", name=name, expires_at=expires, scopes=wanted, parent_id=parent.id)


_INFO = (sa.select(T.token.c.id, T.token.c.user_id, T.token.c.kind, T.token.c.scopes, T.token.c.expires_at,
                   T.token.c.revoked_at, T.user.c.is_active)
         .join(T.user, T.user.c.id == T.token.c.user_id)
         .where(T.token.c.token_hash == sa.bindparam("h")))


def token_info(conn: Connection, token: str) -> TokenInfo:
    """The stored state of ``token``; 401 (saying why) when it is unknown, revoked, expired or its user disabled."""
    row = conn.execute(_INFO, {"h": hash_token(token)}).first()
    return _valid(row.id, row.user_id, row.kind, row.scopes, row.expires_at, row.revoked_at, row.is_active) if row \
        else _valid(None, None, None, None, None, None, None)


def _valid(tid: Any, user_id: Any, kind: Any, scopes: Any, expires_at: dt.datetime | None,
           revoked_at: dt.datetime | None, is_active: Any) -> TokenInfo:
    if tid is None:
        raise AuthRequired("登录已失效，请重新登录", "the token is invalid or expired; sign in again")
    if revoked_at is not None:
        raise AuthRequired(f"此令牌已于 {iso(revoked_at)} 吊销，请重新登录或换用新令牌",
                           f"this token was revoked at {iso(revoked_at)}; sign in again or use a new token")
    if expires_at is not None and expires_at <= now():
        raise AuthRequired(f"此令牌已于 {iso(expires_at)} 过期，请重新登录或创建新令牌",
                           f"this token expired at {iso(expires_at)}; sign in again or create a new token")
    if not is_active:
        raise AuthRequired("用户已停用", "the user is disabled")
    return TokenInfo(id=int(tid), user_id=int(user_id), kind=kind,
                     scopes=tuple(scopes) if scopes is not None else None, expires_at=expires_at)


class TokenLookup:
    """The per-request token check of one process: one lookup by the unique token hash on a connection of
    its own in autocommit (no pool checkout, no BEGIN/ROLLBACK: one round trip on PostgreSQL, awaited
    by :meth:`check`; some tens of microseconds on SQLite), so that revocation, expiry and a disabled
    user hold at once on every worker without a cache to go stale. Reconnects once when the connection
    was lost; closed with the engine's pool."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._raw: Any = None
        self._aconn: Any = None     # PostgreSQL: an async connection of the event loop that made it
        self._aloop: Any = None
        self._waiting: dict[str, list[Any]] = {}   # token hash -> futures of the requests waiting for the next query
        self._busy = False
        ph = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._sql = (f"SELECT t.id, t.user_id, t.kind, t.scopes, t.expires_at, t.revoked_at, u.is_active "
                     f"FROM {T.token.name} t JOIN {T.user.name} u ON u.id = t.user_id WHERE t.token_hash = {ph}")
        self._sql_many = (f"SELECT t.token_hash, t.id, t.user_id, t.kind, t.scopes, t.expires_at, t.revoked_at, u.is_active "
                          f"FROM {T.token.name} t JOIN {T.user.name} u ON u.id = t.user_id WHERE t.token_hash = ANY(%s)")
        self._ts = T.token.c.expires_at.type
        sa.event.listen(engine, "engine_disposed", lambda _engine: self.close())   # lives as long as the engine's pool

    def close(self) -> None:
        """Close the connection (a later call opens a new one)."""
        with self._lock:
            self._drop()

    def _drop_async(self) -> None:
        aconn, self._aconn = self._aconn, None
        if aconn is not None:
            try:
                aconn.pgconn.finish()   # synchronous: its event loop may be gone
            except Exception:  # noqa: BLE001 - already gone
                pass

    def _drop(self) -> None:
        self._drop_async()
        raw, self._raw = self._raw, None
        if raw is not None:
            try:
                raw.close()
            except Exception:  # noqa: BLE001 - a broken connection may fail to close; it is dropped anyway
                pass

    def _connect(self) -> Any:
        fairy = self.engine.raw_connection()
        if self.engine.dialect.name == "postgresql":
            fairy.driver_connection.autocommit = True
        fairy.detach()   # ours alone, outside the pool
        return fairy.dbapi_connection

    async def check(self, token: str) -> TokenInfo:
        """The same, from the event loop. On PostgreSQL the round trip is awaited (the loop serves other
        requests meanwhile), and the lookups of requests that arrive while one is under way go together
        in the next query: each request is still answered by a query that started after it arrived, so a
        revocation committed before it is always seen. SQLite answers in microseconds, in place."""
        if self.engine.dialect.name != "postgresql":
            return self(token)
        import asyncio

        loop = asyncio.get_running_loop()
        if self._aloop is not loop:   # a new event loop (another server run): start afresh
            self._drop_async()
            self._aloop, self._waiting, self._busy = loop, {}, False
        fut = loop.create_future()
        self._waiting.setdefault(hash_token(token), []).append(fut)
        if not self._busy:
            self._busy = True
            loop.create_task(self._drain())
        return self._info(await fut)

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, {}
                try:
                    rows = await self._fetch(list(batch))
                except Exception as exc:  # noqa: BLE001 - handed to every request waiting on this query
                    for futs in batch.values():
                        for f in futs:
                            if not f.done():
                                f.set_exception(exc)
                    continue
                for h, futs in batch.items():
                    for f in futs:
                        if not f.done():
                            f.set_result(rows.get(h))
        finally:
            self._busy = False

    async def _fetch(self, hashes: list[str]) -> dict[str, Any]:
        import psycopg

        for retry in (False, True):
            try:
                if self._aconn is None or self._aconn.closed:
                    _args, kw = self.engine.dialect.create_connect_args(self.engine.url)
                    kw.pop("context", None)
                    self._aconn = await psycopg.AsyncConnection.connect(autocommit=True, **kw)
                cur = await self._aconn.execute(self._sql_many, (hashes,))
                return {r[0]: r[1:] for r in await cur.fetchall()}
            except psycopg.Error:
                self._drop_async()
                if retry:
                    raise
        raise AssertionError("unreachable")

    def __call__(self, token: str) -> TokenInfo:
        """The token's state now (401 when it is not valid)."""
        h = hash_token(token)
        with self._lock:
            for retry in (False, True):
                try:
                    self._raw = self._raw or self._connect()
                    cur = self._raw.cursor()
                    try:
                        cur.execute(self._sql, (h,))
                        row = cur.fetchone()
                    finally:
                        cur.close()
                    break
                except self.engine.dialect.loaded_dbapi.Error:
                    self._drop()
                    if retry:
                        raise
        return self._info(row)

    def in_transaction(self, conn: Connection, token: str) -> TokenInfo:
        """The token's state now, read by the caller's own transaction (a write's first statement), so
        that a busy write endpoint neither blocks the event loop on SQLite nor pays a second query on
        PostgreSQL; a revocation committed before the transaction began is seen (401, nothing written)."""
        cur = conn.connection.cursor()
        try:
            cur.execute(self._sql, (hash_token(token),))
            row = cur.fetchone()
        finally:
            cur.close()
        return self._info(row)

    def _info(self, row: Any) -> TokenInfo:
        if row is None:
            return _valid(None, None, None, None, None, None, None)
        tid, user_id, kind, scopes, expires_at, revoked_at, is_active = row
        if isinstance(scopes, str):
            scopes = json.loads(scopes)
        d = self.engine.dialect
        return _valid(tid, user_id, kind, scopes, self._ts.process_result_value(expires_at, d),
                      self._ts.process_result_value(revoked_at, d), is_active)


def user_for_token(conn: Connection, token: str) -> int:
    """The user id of a valid token (401 otherwise)."""
    return token_info(conn, token).user_id


def revoke_token(conn: Connection, user_id: int, token_id: int, *, is_admin: bool = False) -> list[int]:
    """Revoke a token (one's own, or any for an administrator) and every token created with it,
    down the chain; returns the ids revoked now (a token already revoked stays as it was)."""
    q = sa.select(T.token.c.id).where(T.token.c.id == token_id)
    if not is_admin:
        q = q.where(T.token.c.user_id == user_id)
    if conn.execute(q.with_for_update()).scalar() is None:
        raise NotFound(f"令牌 {token_id} 不存在", f"token {token_id} does not exist")
    at, done, frontier = now(), [], [token_id]
    while frontier:
        done.extend(r[0] for r in conn.execute(
            T.token.update().where(T.token.c.id.in_(frontier), T.token.c.revoked_at.is_(None))
            .values(revoked_at=at).returning(T.token.c.id)))
        frontier = [r[0] for r in conn.execute(sa.select(T.token.c.id).where(T.token.c.parent_id.in_(frontier)))]
    return sorted(done)


def list_api_tokens(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    """A user's API tokens, newest first (never their text)."""
    t = T.token.c
    rows = conn.execute(sa.select(t.id, t.name, t.scopes, t.parent_id, t.created_at, t.expires_at, t.revoked_at)
                        .where(t.user_id == user_id, t.kind == "api").order_by(t.id.desc()))
    at = now()
    return [{"id": r.id, "name": r.name, "scopes": r.scopes or [], "parent_id": r.parent_id,
             "created_at": iso(r.created_at), "expires_at": iso(r.expires_at), "revoked_at": iso(r.revoked_at),
             "active": r.revoked_at is None and (r.expires_at is None or r.expires_at > at)} for r in rows]
