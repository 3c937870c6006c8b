"""The API description (``/openapi.json``) and its two readers, Swagger UI (``/docs``) and ReDoc
(``/redoc``), served from this machine: a plant network often has no internet.

The readers' files come from the ``fastapi-offline`` package (Swagger UI and ReDoc builds in its
``static`` folder), served at ``/docs/static``. The pages have no inline script: ``/docs/init.js``
fetches the description and starts the reader, so the one Content-Security-Policy of the app
(``script-src 'self'``) covers them too.

Production mode (``MOM_PRODUCTION=true``): ``/openapi.json`` needs a signed-in user (any active user
or API token: the description is the same for everyone and grants nothing). A browser cannot send a
bearer header when it opens ``/docs``, so the pages themselves are empty shells and their script
fetches the description with the web app's sign-in (the token the web app keeps in this browser);
without one the page says to sign in to the web app first. In the default mode the description is
public, as before. "Try it out" uses the same sign-in unless the Authorize dialog set another.
"""
from __future__ import annotations

import functools
import html
import importlib.util
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from mom.platform.api.deps import current_actor, oauth2

STATIC_URL = "/docs/static"
INIT_URL = "/docs/init.js"
REDOC_URL = "/docs/redoc.js"   # ReDoc's bundle without its one internet address (see redoc_bundle)
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
TOKEN_KEY = "mom.token"   # where the web app keeps its sign-in (ui/src/api.js)


def assets_dir() -> Path:
    """The folder of Swagger UI and ReDoc files shipped by ``fastapi-offline``."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("fastapi-offline is not installed (pip install -e .) / 缺少 fastapi-offline 包")
    return Path(list(spec.submodule_search_locations)[0]) / "static"


@functools.cache
def redoc_bundle() -> bytes:
    """ReDoc's standalone bundle with its footer logo ("API docs by Redocly") pointed at our own
    icon: the bundle always loads it from cdn.redoc.ly, which a plant network blocks (and the CSP
    refuses); no ReDoc option turns the footer off."""
    text = (assets_dir() / "redoc.standalone.js").read_bytes()
    return text.replace(REDOC_LOGO.encode(), f"{STATIC_URL}/favicon.png".encode())


def page(title: str, reader: str) -> str:
    """The HTML shell of one reader (``swagger`` or ``redoc``): local files only, no inline script."""
    if reader == "swagger":
        head = f'<link rel="stylesheet" href="{STATIC_URL}/swagger-ui.css">'
        body = f'<div id="swagger-ui"></div><script src="{STATIC_URL}/swagger-ui-bundle.js"></script>'
    else:
        head = "<style>body{margin:0}</style>"
        body = f'<div id="redoc"></div><script src="{REDOC_URL}"></script>'
    return ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><link rel=\"icon\" href=\"{STATIC_URL}/favicon.png\">{head}</head>"
            "<body><p id=\"mom-docs-note\" hidden style=\"font:16px sans-serif;margin:2em\"></p>"
            f"{body}<script src=\"{INIT_URL}\" data-reader=\"{reader}\"></script></body></html>")


INIT_JS = """// Starts Swagger UI or ReDoc on the API description, with the web app's sign-in when there is one.
(function () {
  var reader = document.currentScript.getAttribute('data-reader')
  var token = null
  try { token = window.localStorage.getItem('%(key)s') } catch (e) { /* storage blocked */ }
  function note(zh, en) {
    var p = document.getElementById('mom-docs-note')
    p.textContent = zh + ' / ' + en + ' '
    var a = document.createElement('a')
    a.href = '/'
    a.textContent = '打开 Web 应用 / open the web app'
    p.appendChild(a)
    p.hidden = false
  }
  fetch('/openapi.json', { headers: token ? { Authorization: 'Bearer ' + token } : {} })
    .then(function (res) {
      if (res.status === 401) {
        note('API 文档需要登录：请先在 Web 应用中登录，再打开本页', 'the API docs need a sign-in: sign in to the web app, then open this page again')
        return null
      }
      if (!res.ok) throw new Error('HTTP ' + res.status)
      return res.json()
    })
    .then(function (spec) {
      if (!spec) return
      if (reader === 'redoc') {
        window.Redoc.init(spec, {}, document.getElementById('redoc'))
        return
      }
      window.ui = window.SwaggerUIBundle({
        spec: spec, dom_id: '#swagger-ui', layout: 'BaseLayout', deepLinking: true, validatorUrl: null,
        showExtensions: true, showCommonExtensions: true,
        presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset],
        requestInterceptor: function (req) {
          if (token && !req.headers.Authorization) req.headers.Authorization = 'Bearer ' + token
          return req
        }
      })
    })
    .catch(function (e) { note('无法读取 API 描述（' + e.message + '）', 'cannot load the API description (' + e.message + ')') })
})()
""" % {"key": TOKEN_KEY}


def install(app: FastAPI) -> None:
    """Serve ``/openapi.json``, ``/docs``, ``/redoc`` and their files (create the app with
    ``openapi_url=docs_url=redoc_url=None`` so that FastAPI's CDN-based pages are not added)."""
    app.mount(STATIC_URL, StaticFiles(directory=assets_dir()), name="docs-static")

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request, token: Annotated[str | None, Depends(oauth2)]) -> JSONResponse:
        if request.app.state.settings.production:
            await current_actor(request, token)   # 401 without a valid sign-in
        return JSONResponse(request.app.openapi())

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return HTMLResponse(page(f"{app.title} – Swagger UI", "swagger"), headers={"Cache-Control": "no-cache"})

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return HTMLResponse(page(f"{app.title} – ReDoc", "redoc"), headers={"Cache-Control": "no-cache"})

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc_js() -> Response:
        return Response(redoc_bundle(), media_type="text/javascript", headers={"Cache-Control": "max-age=3600"})

    @app.get(INIT_URL, include_in_schema=False)
    async def init_js() -> Response:
        return Response(INIT_JS, media_type="text/javascript", headers={"Cache-Control": "no-cache"})
