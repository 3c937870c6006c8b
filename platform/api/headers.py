"""Security headers on every response: the API's, the web app's and the API docs'.

One Content-Security-Policy fits all three, because none of them runs inline script or ``eval``:

- the built web app (``ui/dist``) loads only its own modules from ``/assets``; Element Plus and ECharts
  set inline styles (``'unsafe-inline'`` for styles only); QR codes, camera frames and chart exports
  are ``data:``/``blob:`` images; print previews open as ``blob:`` pages, which inherit this policy;
- the API docs (``/docs``, ``/redoc``) load Swagger UI / ReDoc from ``/docs/static`` and start them
  from a script file (``/docs/init.js``), not an inline script; ReDoc's search runs in a ``blob:`` worker;
- JSON, CSV and files need nothing, and an HTML file opened straight from the API runs no script.

Nothing may frame the app (clickjacking), browsers must not guess content types, and no address
of the plant's server leaks to other sites through the Referer header. HSTS belongs to whatever
terminates TLS in front of the server (see docs/getting-started.md).
"""
from __future__ import annotations

from typing import Any

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "media-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=(), payment=(), usb=()"),
]


class SecurityHeaders:
    """ASGI middleware adding :data:`HEADERS` to every HTTP response that does not set them itself.

    Plain ASGI (not ``BaseHTTPMiddleware``): it only rewrites the response-start message, so it costs
    microseconds and leaves streaming responses (exports) streaming."""

    def __init__(self, app: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.app = app
        self.headers = headers if headers is not None else HEADERS
        self.names = frozenset(k for k, _ in self.headers)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        ours, names = self.headers, self.names

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                given = message.get("headers") or []
                # the usual answer sets none of them: all are added without building a set
                if any(k.lower() in names for k, _ in given):
                    have = {k.lower() for k, _ in given}
                    extra = [(k, v) for k, v in ours if k not in have]
                else:
                    extra = ours
                if extra:
                    message = {**message, "headers": [*given, *extra]}
            await send(message)

        return await self.app(scope, receive, send_with_headers)
