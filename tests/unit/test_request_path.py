"""The request path's fast paths give the same answers as the general ones (issue 16, create throughput):
security headers a response set itself, a JSON body arriving in several parts, scope decisions
remembered per token scopes and route."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from mom.platform.api.headers import HEADERS, SecurityHeaders
from mom.platform.api.textinput import InputGuard
from mom.platform.auth import scopes
from mom.platform.errors import InsufficientScope


def call(app: Any, body_parts: list[bytes], headers: list[tuple[bytes, bytes]] | None = None) -> tuple[dict, bytes]:
    """Run one POST through an ASGI app; the answer's start message and its body."""
    parts = list(body_parts)
    scope = {"type": "http", "method": "POST", "path": "/x", "query_string": b"",
             "headers": headers or [(b"content-type", b"application/json")]}
    sent: list[dict] = []

    async def receive() -> dict:
        body = parts.pop(0) if parts else b""
        return {"type": "http.request", "body": body, "more_body": bool(parts)}

    async def send(msg: dict) -> None:
        sent.append(msg)

    # in a thread of its own: the browser tests' Playwright keeps an event loop running in the main thread
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    return sent[0], b"".join(m.get("body", b"") for m in sent[1:])


async def echo(scope: dict, receive: Any, send: Any, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    """An endpoint answering 200 with the whole body it was given."""
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if not msg.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain"), *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


def test_security_headers_are_added_and_a_response_keeps_its_own() -> None:
    start, _ = call(SecurityHeaders(echo), [b"{}"])
    got = dict(start["headers"])
    assert all(got[k] == v for k, v in HEADERS)

    async def framed(scope: dict, receive: Any, send: Any) -> None:
        await echo(scope, receive, send, extra=[(b"X-Frame-Options", b"SAMEORIGIN")])

    start, _ = call(SecurityHeaders(framed), [b"{}"])
    names = [k.lower() for k, _ in start["headers"]]
    assert names.count(b"x-frame-options") == 1 and dict(start["headers"])[b"X-Frame-Options"] == b"SAMEORIGIN"
    assert b"content-security-policy" in names and b"x-content-type-options" in names


@pytest.mark.parametrize("parts", [[b'{"a": "ok", "b": [1, 2]}'], [b'{"a": "o', b'k", "b": [1,', b" 2]}"]])
def test_input_guard_passes_a_good_body_in_one_or_several_parts(parts: list[bytes]) -> None:
    start, body = call(InputGuard(echo), parts)
    assert start["status"] == 200 and body == b"".join(parts)


@pytest.mark.parametrize("parts", [[b'{"a": "x\\u0000y"}'], [b'{"a": "ok", ', b'"b": "x\\u0000y"}']])
def test_input_guard_refuses_nul_wherever_the_body_is_cut(parts: list[bytes]) -> None:
    start, body = call(InputGuard(echo), parts)
    assert start["status"] == 422 and b"nul_character" in body


def test_scope_decisions_are_the_same_every_time() -> None:
    form_write = ("records:qc:write",)
    for _ in range(3):   # the second and third decisions come from memory
        scopes.require(form_write, "POST", "/api/records/{form}", {"form": "qc"}, 7)
        with pytest.raises(InsufficientScope) as exc:
            scopes.require(form_write, "POST", "/api/records/{form}", {"form": "other"}, 7)
        assert exc.value.detail["missing_scope"] == "records:other:write"
        with pytest.raises(InsufficientScope):
            scopes.require(("read",), "POST", "/api/records/{form}", {"form": "qc"}, 7)
        scopes.require(("read",), "DELETE", "/api/auth/tokens/{token_id}", {"token_id": 7}, 7)   # its own token
        with pytest.raises(InsufficientScope):
            scopes.require(("read",), "DELETE", "/api/auth/tokens/{token_id}", {"token_id": 8}, 7)
        scopes.require(None, "DELETE", "/api/admin/users/{user_id}", {"user_id": 3}, 7)   # a session: the user's own rights
