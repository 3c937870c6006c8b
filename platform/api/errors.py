"""The one place where product errors become HTTP responses."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from mom.platform.errors import MomError

STATUS = {"invalid_input": 422, "not_found": 404, "conflict": 409, "access_denied": 403, "auth_required": 401,
          "too_large": 413, "precondition_required": 428}


def install(app: FastAPI) -> None:
    @app.exception_handler(MomError)
    async def _mom(_req: Request, exc: MomError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.code == "auth_required" else None
        return JSONResponse(exc.as_dict(), status_code=STATUS.get(exc.code, 400), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "form")]
            problems.append({"path": "/" + "/".join(loc), "code": e.get("type", "invalid"),
                             "message": {"zh-CN": f"请求参数有误：{e.get('msg')}", "en": str(e.get("msg"))}})
        return JSONResponse({"code": "invalid_input", "message": {"zh-CN": "请求有误", "en": "invalid request"},
                             "problems": problems}, status_code=422)
