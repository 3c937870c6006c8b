"""Text input refused once, at the boundary, before any handler or the database sees it.

PostgreSQL cannot store NUL (``\\x00``) in text, and a lone UTF-16 surrogate (``"\\ud800"`` in JSON)
is not a character at all: both used to reach the database and answer 500. :class:`InputGuard` is an
ASGI middleware that refuses them (422 ``invalid_input``, each problem naming the place: the JSON
pointer of a body value or key, the form field, the query parameter, the header or the path) in

- JSON bodies (also: nesting deeper than ``max_json_depth``, ``NaN``/``Infinity``, numbers longer
  than :data:`MAX_NUMBER_DIGITS` digits, a body that is not UTF-8),
- form bodies (``application/x-www-form-urlencoded``: the sign-in form),
- the query string, the path and the request headers.

Checks are cheap when nothing is wrong: each starts with a substring test on the raw text and
parses only when the test hits. Multipart bodies (uploads) are not parsed here; their file names
are checked where they are stored.
"""
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException

from mom.platform.api.errors import shaped

MAX_PROBLEMS = 20
MAX_NUMBER_DIGITS = 400   # a number literal longer than this is refused (Python would parse 4300 digits, slowly)
_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")   # \u0000 or a surrogate half, escaped
_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")                        # after decoding: NUL or a lone surrogate
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_CONSTANT = re.compile(r"\b(?:NaN|Infinity)\b")
_LONG_NUMBER = re.compile(r"[0-9]{%d,}" % (MAX_NUMBER_DIGITS + 1))
_JSON_TYPES = ("application/json",)


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


def _pointer(parts: list[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def json_problems(body: bytes, max_depth: int) -> list[dict[str, Any]]:
    """What is wrong with a JSON body that JSON syntax alone does not catch; [] when nothing is."""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [_problem("", "encoding", f"请求体不是 UTF-8 编码（第 {exc.start} 字节）；请以 UTF-8 发送 JSON",
                         f"the body is not UTF-8 (byte {exc.start}); send JSON as UTF-8")]
    stripped: str | None = None   # the text without its string literals, made only when needed
    if text.count("[") + text.count("{") > max_depth:
        stripped = _STRING.sub('""', text)
        depth = deepest = 0
        for ch in re.sub(r"[^\[\]{}]", "", stripped):
            depth += 1 if ch in "[{" else -1
            if depth > deepest:
                deepest = depth
                if deepest > max_depth:
                    return [_problem("", "too_deep", f"JSON 嵌套超过 {max_depth} 层",
                                     f"the JSON is nested deeper than {max_depth} levels")]
    if "NaN" in text or "Infinity" in text:
        stripped = stripped if stripped is not None else _STRING.sub('""', text)
        if _CONSTANT.search(stripped):
            return [_problem("", "not_a_number", "JSON 中不能有 NaN 或 Infinity；请用数字或 null",
                             "NaN and Infinity are not JSON; use a number or null")]
    if _LONG_NUMBER.search(text):
        stripped = stripped if stripped is not None else _STRING.sub('""', text)
        if _LONG_NUMBER.search(stripped):
            return [_problem("", "number_too_long", f"数字超过 {MAX_NUMBER_DIGITS} 位", f"a number has more than {MAX_NUMBER_DIGITS} digits")]
    if "\\u" not in text or not _ESCAPE.search(text):
        return []
    try:
        doc = json.loads(text)
    except ValueError:
        return []   # malformed: FastAPI answers json_invalid with the position
    return _walk(doc)


def _walk(doc: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    stack: list[tuple[list[Any], Any]] = [([], doc)]
    while stack and len(out) < MAX_PROBLEMS:
        parts, v = stack.pop()
        if isinstance(v, str):
            p = _bad_text(_pointer(parts), v, f"{_pointer(parts) or '请求体'} ", f"{_pointer(parts) or 'the body'}")
            if p:
                out.append(p)
        elif isinstance(v, dict):
            for k, item in v.items():
                shown = _pointer([*parts, _BAD_CHAR.sub("?", k)])
                p = _bad_text(shown, k, f"属性名 {shown} ", f"the property name {shown}")
                if p:
                    out.append(p)
                stack.append(([*parts, k], item))
        elif isinstance(v, list):
            stack.extend(([*parts, i], item) for i, item in enumerate(v))
        # keys shown with "?" for the bad character; the path of values below them too
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
        chunks: list[bytes] = []
        try:
            while True:
                msg = await receive()
                if msg["type"] != "http.request":
                    return   # the client went away
                chunks.append(msg.get("body", b""))
                if not msg.get("more_body", False):
                    break
        except HTTPException as exc:   # the body limit (BodyLimit) stopped the upload
            return await shaped(exc.status_code, "too_large", "请求体太大", "the request body is too large",
                                detail={"reason": exc.detail})(scope, receive, send)
        body = b"".join(chunks)
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
