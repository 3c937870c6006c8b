"""API-token scopes: what a token may do, and what each request needs.

A scope is ``read`` or ``write`` (everything), ``<area>:read|write`` (one API area) or
``records:<form>:read|write`` (the records of one form). ``write`` includes ``read`` of the same
thing. The general ``read``/``write`` cover every area except ``tokens``: minting and revoking tokens
needs ``tokens:write`` named explicitly (or an interactive sign-in). Sign-in sessions have no scopes:
they may do whatever the user's roles allow. Scopes only ever narrow the user's own rights.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from mom.platform.errors import InsufficientScope, InvalidInput, Problem, did_you_mean

ACCESS = ("read", "write")
AREAS = ("records", "forms", "workflow", "reports", "scheduling", "production", "files", "admin", "tokens")
FORM_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

# The first path segment after /api -> the scope area it belongs to.
_AREA_OF = {
    "records": "records", "views": "records",
    "forms": "forms", "schema": "forms", "permissions": "forms", "designer": "forms",
    "workflows": "workflow", "tasks": "workflow", "workflow-instances": "workflow", "rules": "workflow",
    "events": "workflow", "outbox": "workflow", "notifications": "workflow",
    "reports": "reports", "dashboards": "reports", "report-runs": "reports", "spc": "reports",
    "print-templates": "reports", "print": "reports",
    "scheduling": "scheduling", "production": "production", "mrp": "production",
    "attachments": "files", "files": "files",
    "admin": "admin", "packs": "admin",
}
# POSTs that only compute an answer and write nothing: a read-only token may call them.
_READ_POSTS = ("preview", "validate", "plan", "check", "analyze", "whatif", "compose", "describe")
_READ_ONLY_POSTS = ("/api/scheduling/solve", "/api/scheduling/reschedule", "/api/designer/keys")
# ... except these: planning a pack loads it, which runs the pack's code (hooks.py), so it needs write.
_WRITE_PLANS = ("/api/packs/{name}/plan",)


@dataclass(frozen=True)
class Scope:
    """One scope; ``area`` None means every area but tokens; ``form`` only for records."""

    area: str | None
    form: str | None
    access: str

    def __str__(self) -> str:
        return ":".join(p for p in (self.area, self.form, self.access) if p)

    def covers(self, need: "Scope") -> bool:
        """Does holding this scope allow ``need``?"""
        if need.access == "write" and self.access != "write":
            return False
        if self.area is None:
            return need.area != "tokens"
        if self.area != need.area:
            return False
        return self.form is None or self.form == need.form


def parse(text: str) -> Scope | None:
    """The scope written as ``text``, or None when it is not one."""
    parts = text.split(":")
    if parts[-1] not in ACCESS:
        return None
    if len(parts) == 1:
        return Scope(None, None, parts[0])
    if len(parts) == 2 and parts[0] in AREAS:
        return Scope(parts[0], None, parts[1])
    if len(parts) == 3 and parts[0] == "records" and FORM_KEY.match(parts[1]):
        return Scope("records", parts[1], parts[2])
    return None


def validate(scopes: Iterable[str], path: str = "/scopes") -> tuple[str, ...]:
    """Check every scope (all problems at once) and return them de-duplicated and sorted."""
    problems: list[Problem] = []
    out: set[str] = set()
    for i, text in enumerate(scopes):
        s = parse(text.strip()) if isinstance(text, str) else None
        if s is None:
            hint = did_you_mean(str(text).split(":")[0], set(AREAS) | set(ACCESS))
            problems.append(Problem(f"{path}/{i}", f"权限范围 {text!r} 不认识：应为 read、write、<区域>:read|write 或 "
                                    f"records:<表单>:read|write，区域有 {'、'.join(AREAS)}{hint}",
                                    f"unknown scope {text!r}: use read, write, <area>:read|write or "
                                    f"records:<form>:read|write; areas are {', '.join(AREAS)}{hint}", "scope"))
        else:
            out.add(str(s))
    if problems:
        raise InvalidInput("权限范围有误，令牌未创建", "invalid scopes; no token was created", problems=problems)
    if not out:
        raise InvalidInput("至少给出一个权限范围，例如 read", "give at least one scope, e.g. read",
                           problems=[Problem(path, "至少一个权限范围", "at least one scope", "min_items")])
    return tuple(sorted(out))


def grants(scopes: Iterable[str], need: Scope) -> bool:
    """Do these scopes (a token's) allow ``need``?"""
    return any(s is not None and s.covers(need) for s in map(parse, scopes))


def needed(method: str, route: str, params: dict[str, object] | None = None, token_id: int | None = None) -> Scope | None:
    """The scope a request needs, from its method and its route's path template (``/api/records/{form}``)
    with the path parameters; None when any signed-in token may call it (``token_id``: the caller's
    token, which may always revoke itself)."""
    parts = route.strip("/").split("/")
    if len(parts) < 2 or parts[0] != "api":
        return None
    seg = parts[1]
    access = "read" if method in ("GET", "HEAD", "OPTIONS") else "write"
    # only a literal last segment counts: a transition or action *named* "check" is still a write
    if (access == "write" and method == "POST" and (parts[-1] in _READ_POSTS or route.rstrip("/") in _READ_ONLY_POSTS)
            and route.rstrip("/") not in _WRITE_PLANS):
        access = "read"
    if seg == "auth":
        if method == "DELETE" and token_id is not None and str((params or {}).get("token_id")) == str(token_id):
            return None   # revoking the token one is using
        if len(parts) > 2 and parts[2] in ("api-tokens", "tokens"):
            return Scope("tokens", None, access)
        return None   # /api/auth/me: who am I
    area = _AREA_OF.get(seg)
    form = (params or {}).get("form") if area == "records" else None
    return Scope(area, str(form) if form is not None else None, access)


@lru_cache(maxsize=4096)
def _missing(scopes: tuple[str, ...], method: str, route: str, form: str | None, own: bool) -> Scope | None:
    """The scope a request lacks, or None when its token's ``scopes`` allow it. Decided once per token
    scopes, method, route template, form and "is it the caller's own token" (every input of
    :func:`needed` that matters), so a busy client does not parse its scopes again on each request."""
    params: dict[str, object] = {"form": form} if form is not None else {}
    if own:
        params["token_id"] = 0
    need = needed(method, route, params, 0 if own else None)
    return None if need is None or grants(scopes, need) else need


def allows(scopes: Iterable[str], method: str, route: str, params: dict[str, object] | None = None,
           token_id: int | None = None) -> bool:
    """Do a token's ``scopes`` allow this request? (:func:`require` without the refusal.)"""
    p = params or {}
    form, own = p.get("form"), token_id is not None and str(p.get("token_id")) == str(token_id)
    return _missing(tuple(scopes), method, route, str(form) if form is not None else None, own) is None


def require(scopes: Iterable[str] | None, method: str, route: str, params: dict[str, object] | None = None,
            token_id: int | None = None) -> None:
    """Refuse (403 insufficient_scope) a request the token's scopes do not allow; sessions (None) pass."""
    if scopes is None:
        return
    p = params or {}
    form, own = p.get("form"), token_id is not None and str(p.get("token_id")) == str(token_id)
    need = _missing(tuple(scopes), method, route, str(form) if form is not None else None, own)
    if need is None:
        return
    have = sorted(scopes)
    what = "写入" if need.access == "write" else "读取"
    listed = "、".join(have) or "-"
    raise InsufficientScope(
        f"此 API 令牌没有权限范围 {need}，不能{what}；它的范围是：{listed}。请改用含 {need} 的令牌（令牌所有者或管理员可创建）",
        f"this API token lacks the scope {need} (it has: {', '.join(have) or '-'}); use a token created with {need}",
        detail={"missing_scope": str(need), "token_scopes": have})


# Issue 16 review, item 2: a token narrowed to some forms reads no other form through a reference.
@lru_cache(maxsize=4096)
def record_forms(scopes: tuple[str, ...] | None) -> frozenset[str] | None:
    """The only forms whose records a token with ``scopes`` may read (also through a reference from
    another form), or None when it is not narrowed to forms: a session, a token with ``read``/``write``
    or ``records:read|write``, or a token with no records scope at all (its areas decide)."""
    if scopes is None:
        return None
    forms: set[str] = set()
    for s in map(parse, scopes):
        if s is None:
            continue
        if s.area is None or (s.area == "records" and s.form is None):
            return None
        if s.area == "records" and s.form is not None:
            forms.add(s.form)
    return frozenset(forms) if forms else None
