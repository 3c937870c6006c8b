"""The one place where errors become HTTP responses: product errors (``MomError``), the framework's
own (unknown address, method not allowed, unreadable or invalid request, body too large) and, as
the very last resort, an unexpected exception (500, logged). Every answer has the same shape:
``{code, message: {"zh-CN", "en"}, problems?, detail?}`` (docs/errors.md)."""
from __future__ import annotations

import http.client
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from mom.platform.errors import MomError, TooManyAttempts

STATUS = {"invalid_input": 422, "not_found": 404, "conflict": 409, "access_denied": 403, "auth_required": 401,
          "too_large": 413, "insufficient_scope": 403, "too_many_attempts": 429, "precondition_required": 428,
          "cancelled": 503, "delivery_failed": 502}

log = logging.getLogger("mom.api")


def shaped(status: int, code: str, zh: str, en: str, *, problems: list[dict[str, Any]] | None = None,
           detail: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error answer in the one shape, for errors raised outside the engines (framework, ASGI guards,
    last resort)."""
    body: dict[str, Any] = {"code": code, "message": {"zh-CN": zh, "en": en}}
    if problems:
        body["problems"] = problems
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, headers=headers)


def allowed_methods(app: Any, path: str) -> list[str]:
    """The methods of the documented path (OpenAPI template) that ``path`` falls under: the first
    template that matches, in the order the routes are tried, as ``/openapi.json`` lists its methods."""
    table = getattr(app.state, "method_table", None)
    if table is None:
        table = []
        for template, ops in app.openapi().get("paths", {}).items():
            regex = re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "$")
            methods = {m.upper() for m in ops if m in ("get", "put", "post", "delete", "patch", "head", "options", "trace")}
            table.append((regex, sorted(methods | ({"HEAD"} if "GET" in methods else set()) | {"OPTIONS"})))
        app.state.method_table = table
    # as OpenAPI matches: a concrete path before a templated one (/api/forms/plan before /api/forms/{name})
    found = [(regex.pattern.count("[^/]+"), i, methods) for i, (regex, methods) in enumerate(table) if regex.match(path)]
    return min(found)[2] if found else []


# Pydantic's error types in words a factory user understands (the English text stays pydantic's own).
_ZH = {"missing": "必填", "int_parsing": "应为整数", "int_type": "应为整数", "int_from_float": "应为整数",
       "float_parsing": "应为数字", "float_type": "应为数字", "bool_parsing": "应为 true 或 false",
       "bool_type": "应为 true 或 false", "string_type": "应为文字", "list_type": "应为列表", "dict_type": "应为对象",
       "model_attributes_type": "应为对象", "string_pattern_mismatch": "格式不对", "enum": "不是可选的值之一",
       "literal_error": "不是可选的值之一", "extra_forbidden": "不认识这个属性"}


def _zh_of(e: dict[str, Any]) -> str:
    ctx, t = e.get("ctx") or {}, e.get("type", "")
    if t in ("less_than_equal", "less_than"):
        return f"不能大于 {ctx.get('le', ctx.get('lt'))}"
    if t in ("greater_than_equal", "greater_than"):
        return f"不能小于 {ctx.get('ge', ctx.get('gt'))}"
    if t in ("string_too_long", "too_long"):
        return f"太长，最多 {ctx.get('max_length')} {'个字符' if t.startswith('string') else '项'}"
    if t in ("string_too_short", "too_short"):
        return f"太短，至少 {ctx.get('min_length')} {'个字符' if t.startswith('string') else '项'}"
    return _ZH.get(t, "取值不对")


def validation_problems(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """FastAPI/pydantic validation errors as problems: the JSON path of a body value, or the name of a
    path/query/header parameter (``/limit``), with what is wrong in zh-CN and en."""
    out = []
    for e in errors:
        loc = list(e.get("loc", ()))
        where = loc[0] if loc and loc[0] in ("body", "query", "path", "header", "form", "cookie") else "body"
        rest = [str(p) for p in (loc[1:] if loc and loc[0] == where else loc)]
        if e.get("type") == "json_invalid":   # loc is (body, character position)
            pos, err = (rest[0] if rest else "?"), (e.get("ctx") or {}).get("error", "")
            out.append({"path": "", "code": "json_invalid",
                        "message": {"zh-CN": f"请求体不是合法的 JSON（第 {pos} 个字符附近：{err}）",
                                    "en": f"the body is not valid JSON (near character {pos}: {err})"}})
            continue
        name = "/".join(rest) if where in ("body", "form") else (rest[0] if rest else "")
        label = {"query": "查询参数", "path": "路径参数", "header": "请求头", "cookie": "Cookie"}.get(where, "字段")
        out.append({"path": "/" + "/".join(rest), "code": e.get("type", "invalid"),
                    "message": {"zh-CN": f"{label} {name or '请求体'}：{_zh_of(e)}",
                                "en": f"{where} {name or 'body'}: {e.get('msg')}"}})
    return out


# The framework's own HTTP errors, in words (405 is answered with the path's methods, below).
_HTTP = {400: ("bad_request", "请求无法解析，请检查请求体的格式", "the request could not be read; check the body's format"),
         401: ("auth_required", "请先登录", "sign in first"),
         403: ("access_denied", "没有权限", "not allowed"),
         404: ("not_found", "没有这个地址", "no such address"),
         413: ("too_large", "请求体太大", "the request body is too large"),
         415: ("unsupported_media_type", "不支持的请求体类型", "unsupported body type")}


ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error", "type": "object", "required": ["code", "message"],
    "description": "每个错误的同一形状 / the one shape of every error (docs/errors.md)",
    "properties": {
        "code": {"type": "string", "description": "stable code, e.g. invalid_input, not_found"},
        "message": {"type": "object", "required": ["zh-CN", "en"],
                    "properties": {"zh-CN": {"type": "string"}, "en": {"type": "string"}}},
        "problems": {"type": "array", "items": {"type": "object", "required": ["path", "code", "message"], "properties": {
            "path": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "object"}}}},
        "detail": {"type": "object"}}}


def _document_error_shape(app: FastAPI) -> None:
    """The 422 FastAPI documents for every operation is our shape, not its ``{"detail": [...]}``."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schemas = schema.get("components", {}).get("schemas", {})
            if "HTTPValidationError" in schemas:
                schemas["HTTPValidationError"] = ERROR_SCHEMA
                schemas.pop("ValidationError", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    _document_error_shape(app)

    @app.exception_handler(MomError)
    async def _mom(_req: Request, exc: MomError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.code == "auth_required" else None
        if isinstance(exc, TooManyAttempts):
            headers = {"Retry-After": str(exc.retry_after)}
        elif exc.code == "insufficient_scope":
            headers = {"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{exc.detail.get("missing_scope", "")}"'}
        return JSONResponse(exc.as_dict(), status_code=STATUS.get(exc.code, 400), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        problems = validation_problems(list(exc.errors()))
        zh = "；".join(p["message"]["zh-CN"] for p in problems[:3])
        en = "; ".join(p["message"]["en"] for p in problems[:3])
        return shaped(422, "invalid_input", f"请求有误：{zh}", f"invalid request: {en}", problems=problems)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        path = request.url.path
        if exc.status_code == 405:
            allow = allowed_methods(request.app, path) or sorted(
                m.strip() for m in (exc.headers or {}).get("Allow", "").split(",") if m.strip())
            headers = {**(exc.headers or {}), "Allow": ", ".join(allow)}
            if request.method == "OPTIONS":   # OPTIONS answers what the path supports (RFC 9110 §9.3.7)
                return Response(status_code=204, headers=headers)
            return shaped(405, "method_not_allowed", f"{path} 不支持 {request.method}；可用：{', '.join(allow)}",
                          f"{path} does not support {request.method}; use one of {', '.join(allow)}",
                          detail={"allow": allow}, headers=headers)
        code, zh, en = _HTTP.get(exc.status_code, (f"http_{exc.status_code}", "请求未能完成", "the request could not be completed"))
        if exc.status_code == 404:
            zh, en = f"{zh}：{path}", f"{en}: {path}"
        # the framework's own reason, when it says more than the status's name ("Not Found")
        plain = isinstance(exc.detail, str) and exc.detail == http.client.responses.get(exc.status_code)
        detail = {"reason": exc.detail} if isinstance(exc.detail, str) and exc.detail and not plain else None
        return shaped(exc.status_code, code, zh, en, detail=detail, headers=dict(exc.headers or {}) or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The very last resort: a defect of ours. Logged with its traceback; the caller gets the one shape.
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return shaped(500, "internal_error", "服务器内部错误，已记录；请联系管理员",
                      "internal server error (logged); contact the administrator")
