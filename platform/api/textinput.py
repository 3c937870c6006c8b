"""Text input refused once, at the boundary, before any handler or the database sees it.

PostgreSQL cannot store NUL (``\\x00``) in text, and a lone UTF-16 surrogate (``"\\ud800"`` in JSON)
is not a character at all: both used to reach the database and answer 500. :class:`InputGuard` is an
ASGI middleware that refuses them (422 ``invalid_input``, each problem naming the place: the JSON
pointer of a body value or key, the form field, the query parameter, the header or the path) in

- JSON bodies (also: nesting deeper than ``max_json_depth``, ``NaN``/``Infinity`` and numbers too
  large for a double, integers longer than Python reads, a body that is not UTF-8),
- form bodies (``application/x-www-form-urlencoded``: the sign-in form),
- the query string, the path and the request headers.

Cheap when nothing is wrong: a JSON body is read once by orjson (strict, in C) and walked only when
its nesting or a ``\\u0000`` escape calls for it; the rest starts with a substring test. Multipart
bodies (uploads) are not parsed here: :func:`check_text` checks their file names where they are used.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.exceptions import HTTPException

from mom.engines.definitions.jsonschema import json_pointer
from mom.platform.api.errors import shaped
from mom.platform.errors import InvalidInput, Problem

MAX_PROBLEMS = 20
ORJSON_DEPTH = 1024   # orjson's fixed nesting limit
_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")                        # after decoding: NUL or a lone surrogate


def _problem(path: str, code: str, zh: str, en: str) -> dict[str, Any]:
    return {"path": path, "code": code, "message": {"zh-CN": zh, "en": en}}


def _bad_text(path: str, text: str, what_zh: str, what_en: str) -> dict[str, Any] | None:
    m = _BAD_CHAR.search(text)
    if m is None:
        return None
    if m.group() == "\x00":
        return _problem(path, "nul_character", f"{what_zh}含有 NUL 字符（\\u0000），无法保存；请删除它",
                        f"{what_en} contains a NUL character (\\u0000), which cannot be stored; remove it")
    return _problem(path, "lone_surrogate", f"{what_zh}含有不完整的字符（孤立的 UTF-16 代理项 \\u{ord(m.group()):04x}）；请重新输入",
                    f"{what_en} contains a broken character (lone UTF-16 surrogate \\u{ord(m.group()):04x}); type it again")


def json_problems(body: bytes, max_depth: int) -> list[dict[str, Any]]:
    """What is wrong with a JSON body that JSON syntax alone does not catch; [] when nothing is.

    orjson (strict: UTF-8, no NaN, no lone surrogates, depth <= 1024) reads the body first, in C; only
    a body it refuses takes the slow path that says why."""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    if not body.strip():
        return []
    # orjson refuses nesting deeper than ORJSON_DEPTH: inside (ORJSON_DEPTH - max_depth) wrapping lists
    # the body parses only if it is at most max_depth deep, so the depth check costs nothing extra.
    wrap = ORJSON_DEPTH - max_depth if body.count(b"[") + body.count(b"{") > max_depth else 0
    try:
        doc = orjson.loads(b"[" * wrap + body + b"]" * wrap)
    except orjson.JSONDecodeError as exc:
        return _refused_by_orjson(body, max_depth, str(exc))
    if b"\\u0000" not in body:
        return []
    for _ in range(wrap):
        doc = doc[0]
    return _walk(doc)


def _too_deep(max_depth: int) -> dict[str, Any]:
    return _problem("", "too_deep", f"JSON 嵌套超过 {max_depth} 层", f"the JSON is nested deeper than {max_depth} levels")


class _Constant(ValueError):
    pass


def _constant(name: str) -> Any:
    raise _Constant(name)


def _refused_by_orjson(body: bytes, max_depth: int, reason: str) -> list[dict[str, Any]]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [_problem("", "encoding", f"请求体不是 UTF-8 编码（第 {exc.start} 字节）；请以 UTF-8 发送 JSON",
                         f"the body is not UTF-8 (byte {exc.start}); send JSON as UTF-8")]
    if "depth limit" in reason:
        return [_too_deep(max_depth)]
    try:
        doc = json.loads(text, parse_constant=_constant)
    except _Constant:
        return [_problem("", "not_a_number", "JSON 中不能有 NaN 或 Infinity；请用数字或 null",
                         "NaN and Infinity are not JSON; use a number or null")]
    except RecursionError:
        return [_too_deep(max_depth)]
    except json.JSONDecodeError:
        return []   # malformed: FastAPI answers json_invalid with the position
    except ValueError:   # an integer longer than Python reads (4300 digits)
        return [_problem("", "number_too_long", "数字位数太多", "a number has too many digits")]
    if _depth(doc) > max_depth:
        return [_too_deep(max_depth)]
    return _walk(doc)


def _depth(doc: Any) -> int:
    """The nesting depth of a parsed document (containers only are visited)."""
    deepest = 0
    stack = [(doc, 1)] if isinstance(doc, (dict, list)) else []
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        items = v.values() if isinstance(v, dict) else v
        stack.extend((c, d + 1) for c in items if isinstance(c, (dict, list)))
    return deepest


def _walk(doc: Any) -> list[dict[str, Any]]:
    """Every string (value or key) with NUL or a lone surrogate, and every non-finite number, by JSON pointer."""
    out: list[dict[str, Any]] = []
    stack: list[tuple[list[Any], Any]] = [([], doc)]
    while stack and len(out) < MAX_PROBLEMS:
        parts, v = stack.pop()
        if isinstance(v, str):
            p = _bad_text(json_pointer(parts), v, f"{json_pointer(parts) or '请求体'} ", f"{json_pointer(parts) or 'the body'}")
            if p:
                out.append(p)
        elif isinstance(v, float) and not math.isfinite(v):
            out.append(_problem(json_pointer(parts), "not_a_number", "数值超出范围（无穷大）", "the number is out of range (infinite)"))
        elif isinstance(v, dict):
            for k, item in v.items():
                # keys shown with "?" for the bad character; the paths of values below them too
                shown = json_pointer([*parts, _BAD_CHAR.sub("?", k)])
                p = _bad_text(shown, k, f"属性名 {shown} ", f"the property name {shown}")
                if p:
                    out.append(p)
                stack.append(([*parts, _BAD_CHAR.sub("?", k)], item))
        elif isinstance(v, list):
            stack.extend(([*parts, i], item) for i, item in enumerate(v))
    return sorted(out, key=lambda p: p["path"])


def pairs_problems(pairs: list[tuple[str, str]], where_zh: str, where_en: str) -> list[dict[str, Any]]:
    """NUL / lone surrogates in decoded name=value pairs (query string, form body), each named."""
    out = []
    for name, value in pairs:
        shown = _BAD_CHAR.sub("?", name)
        p = _bad_text(f"/{shown}", name + value, f"{where_zh} {shown} ", f"{where_en} {shown}")
        if p:
            out.append(p)
    return out[:MAX_PROBLEMS]


def _encoded_nul(raw: bytes) -> bool:
    return b"\x00" in raw or b"%00" in raw


def scope_problems(scope: dict[str, Any]) -> list[dict[str, Any]]:
    """Problems of the path, the query string and the headers of a request."""
    out = []
    p = _bad_text("/path", scope.get("path", ""), "地址", "the address")
    if p:
        out.append(p)
    qs: bytes = scope.get("query_string") or b""
    if _encoded_nul(qs):
        out += pairs_problems(parse_qsl(qs.decode("latin-1"), keep_blank_values=True), "查询参数", "query parameter")
    for name, value in scope.get("headers") or []:
        if b"\x00" in value:
            h = name.decode("latin-1")
            out.append(_problem(f"/headers/{h}", "nul_character", f"请求头 {h} 含有 NUL 字符", f"header {h} contains a NUL character"))
    return out


def check_text(value: str | None, path: str, what_zh: str, what_en: str) -> None:
    """Raise 422 if ``value`` (text taken from a multipart part: a file name, its content type) has NUL
    or a lone surrogate; multipart bodies are not parsed by :class:`InputGuard`."""
    p = _bad_text(path, value or "", what_zh, what_en)
    if p:
        raise InvalidInput(p["message"]["zh-CN"], p["message"]["en"],
                           problems=[Problem(path, p["message"]["zh-CN"], p["message"]["en"], p["code"])])


def refuse(problems: list[dict[str, Any]]) -> Any:
    first = problems[0]["message"]
    return shaped(422, "invalid_input", f"请求中有无法接受的内容：{first['zh-CN']}",
                  f"the request contains what cannot be accepted: {first['en']}", problems=problems)


def _body_kind(scope: dict[str, Any]) -> str | None:
    if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return None
    ctype = b""
    for name, value in scope.get("headers") or []:
        if name == b"content-type":
            ctype = value.split(b";")[0].strip().lower()
            break
    if ctype in (b"application/json",) or (ctype.startswith(b"application/") and ctype.endswith(b"+json")):
        return "json"
    if ctype == b"application/x-www-form-urlencoded":
        return "form"
    return None


class InputGuard:
    """ASGI middleware: refuse NUL, lone surrogates, too deep JSON and non-JSON numbers (422), naming
    where they are; pass everything else on unchanged (the body is read once and replayed)."""

    def __init__(self, app: Any, max_json_depth: int = 64) -> None:
        self.app, self.max_json_depth = app, max_json_depth

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        problems = scope_problems(scope)
        if problems:
            return await refuse(problems)(scope, receive, send)
        kind = _body_kind(scope)
        if kind is None:
            return await self.app(scope, receive, send)
        try:
            msg = await receive()
            if msg["type"] != "http.request":
                return   # the client went away
            body = msg.get("body", b"")
            if msg.get("more_body", False):   # a body in several parts (a small one comes in one)
                chunks = [body]
                while True:
                    msg = await receive()
                    if msg["type"] != "http.request":
                        return
                    chunks.append(msg.get("body", b""))
                    if not msg.get("more_body", False):
                        break
                body = b"".join(chunks)
        except HTTPException as exc:   # the body limit (BodyLimit) stopped the upload
            return await shaped(exc.status_code, "too_large", "请求体太大", "the request body is too large",
                                detail={"reason": exc.detail})(scope, receive, send)
        if kind == "json":
            problems = json_problems(body, self.max_json_depth)
        elif _encoded_nul(body):
            problems = pairs_problems(parse_qsl(body.decode("latin-1"), keep_blank_values=True), "表单字段", "form field")
        if problems:
            return await refuse(problems)(scope, receive, send)
        done = False

        async def replay() -> dict[str, Any]:
            nonlocal done
            if not done:
                done = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
