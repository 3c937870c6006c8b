"""What the web app needs beyond the engines' APIs (its menu, people pickers), and the app itself.

The built front end (``ui/dist``, installed as ``mom.ui``) is served at ``/``; it uses hash routes,
so the server only serves ``index.html`` and ``/assets/*``. Nothing is loaded from outside the machine.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from mom.engines.forms import store
from mom.engines.records.access import form_access
from mom.engines.reports import store as defs
from mom.engines.records import query as Q
from mom.platform.api.deps import ActorDep, CtxDep, EngineDep, RegistryDep
from mom.platform.db import tables as T
from mom.platform.db.engine import read_tx
from mom.platform.errors import InvalidInput, Problem

router = APIRouter(prefix="/api", tags=["web app"])
OTHER = {"zh-CN": "我的表单", "en": "My forms"}


@router.get("/apps", summary="The menu: installed packs (and forms outside any pack) with what the caller may open")
def apps(engine: EngineDep, registry: RegistryDep, actor: ActorDep) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        forms: dict[str, dict[str, Any]] = {}
        for name in store.form_names(conn):
            compiled = registry.get(conn, name)
            access = form_access(compiled, actor)
            if access.can("read") or access.can("create") or access.can("design"):
                forms[name] = {"name": name, "label": compiled.definition.label, "actions": sorted(access.actions)}
        reports = {r["name"]: r for r in defs.listing(conn, "report") if defs.allowed(r["roles"], actor)}
        dashboards = {r["name"]: r for r in defs.listing(conn, "dashboard") if defs.allowed(r["roles"], actor)}
        packs = conn.execute(sa.select(T.pack).order_by(T.pack.c.installed_at, T.pack.c.name)).all()
    out, placed = [], set()
    for p in packs:
        menu = p.menu or {}
        item = {"name": p.name, "label": menu.get("label") or p.name, "version": p.version,
                "forms": [forms[n] for n in menu.get("forms", []) if n in forms],
                "reports": [_short(reports[n]) for n in menu.get("reports", []) if n in reports],
                "dashboards": [_short(dashboards[n]) for n in menu.get("dashboards", []) if n in dashboards]}
        placed.update(("f", n) for n in menu.get("forms", []))
        placed.update(("r", n) for n in menu.get("reports", []))
        placed.update(("d", n) for n in menu.get("dashboards", []))
        if item["forms"] or item["reports"] or item["dashboards"]:
            out.append(item)
    rest = {"name": "", "label": OTHER, "version": None,
            "forms": [f for n, f in sorted(forms.items()) if ("f", n) not in placed],
            "reports": [_short(r) for n, r in sorted(reports.items()) if ("r", n) not in placed],
            "dashboards": [_short(d) for n, d in sorted(dashboards.items()) if ("d", n) not in placed]}
    if rest["forms"] or rest["reports"] or rest["dashboards"]:
        out.append(rest)
    return out


def _short(d: dict[str, Any]) -> dict[str, Any]:
    return {"name": d["name"], "label": d.get("label") or d["name"], "source": d.get("source")}


@router.get("/directory/users", summary="Find people for pickers (any signed-in user): ?q= text, or ?ids=1,2")
def directory_users(engine: EngineDep, actor: ActorDep, q: str = "", ids: str = "",
                    limit: int = Query(20, ge=1, le=200)) -> list[dict[str, Any]]:
    u = T.user
    stmt = sa.select(u.c.id, u.c.username, u.c.display_name, u.c.department_id).where(u.c.is_active.is_(True))
    if ids:
        wanted = [int(x) for x in ids.split(",") if x.strip().isdigit()]
        stmt = stmt.where(u.c.id.in_(wanted))
    elif q:
        like = f"%{q}%"
        stmt = stmt.where(sa.or_(u.c.username.ilike(like), u.c.display_name.ilike(like)))
    with read_tx(engine) as conn:
        return [dict(r._mapping) for r in conn.execute(stmt.order_by(u.c.id).limit(limit))]


SCAN_TYPES = ("barcode", "autonumber")


@router.get("/scan", summary="Shop floor: the records whose code (barcode, auto-number or display field) is the scanned text")
def scan(code: str, engine: EngineDep, registry: RegistryDep, ctx: CtxDep, form: str | None = None) -> dict[str, Any]:
    code = code.strip()
    if not code:
        raise InvalidInput("请扫描或输入编码", "scan or type a code", problems=[Problem("/code", "不能为空", "must not be empty", "required")])
    matches: list[dict[str, Any]] = []
    with read_tx(engine) as conn:
        for name in [form] if form else store.form_names(conn):
            compiled = registry.get(conn, name)
            access = form_access(compiled, ctx.actor)
            if not access.can("read"):
                continue
            defn = compiled.definition
            keys = [f.key for f in defn.scalar_fields if (f.type in SCAN_TYPES or f.key == defn.display_field)
                    and f.type in ("text", *SCAN_TYPES) and access.visible(f.key)]
            for key in keys:
                res = Q.list_records(conn=conn, registry=registry, ctx=ctx, form=name,
                                     filters=Q.parse_filters({key: code}, set()), limit=5)
                for item in res["items"]:
                    if not any(m["form"] == name and m["id"] == item["id"] for m in matches):
                        matches.append({"form": name, "form_label": defn.label, "id": item["id"], "matched": key,
                                        "title": item.get(defn.display_field) or f"#{item['id']}", "record": item})
    return {"code": code, "matches": matches}


def ui_dist() -> Path | None:
    """The built front end, or None when it was never built."""
    spec = importlib.util.find_spec("mom.ui")
    for base in list(spec.submodule_search_locations or []) if spec else []:
        root = Path(base) / "dist"
        if (root / "index.html").is_file():
            return root
    return None


def mount(app: FastAPI) -> None:
    dist = ui_dist()
    if dist is None:
        @app.get("/", include_in_schema=False, response_class=HTMLResponse)
        def home() -> str:
            return ("<!doctype html><meta charset=utf-8><title>MOM 平台</title><h1>MOM 平台 / MOM platform</h1>"
                    "<p>前端未构建（cd ui && npm ci && npm run build）/ the web app is not built.</p>"
                    "<p>API 文档 / API docs: <a href=/docs>/docs</a></p>")
        return
    index = dist / "index.html"

    @app.get("/", include_in_schema=False)
    def home_app() -> FileResponse:
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.mount("/assets", StaticFiles(directory=dist / "assets"), name="assets")
