"""What the web app needs beyond the engines' APIs (its menu, people pickers), and the app itself.

The built front end (``ui/dist``, installed as ``mom.ui``) is served at ``/``; it uses hash routes,
so the server only serves ``index.html`` and ``/assets/*``. Nothing is loaded from outside the machine.
"""
from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Body, FastAPI, Query
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from mom.engines.forms import fieldtypes, store
from mom.engines.forms.definition import MissingFieldType
from mom.engines.forms.model import FieldSpec
from mom.engines.records.access import form_access
from mom.engines.records.engine_writes import offered
from mom.engines.reports import store as defs
from mom.engines.records import query as Q
from mom.platform.api.deps import ActorDep, CtxDep, EngineDep, RegistryDep
from mom.platform.api.models import ERRORS
from mom.platform.api.params import MAX_ID32, PathName, QueryName, QueryText, id_list
from mom.platform.db import tables as T
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import AccessDenied, InvalidInput, NotFound, Problem

router = APIRouter(prefix="/api", tags=["web app"], responses=ERRORS)
OTHER = {"zh-CN": "我的表单", "en": "My forms"}


@router.get("/apps", summary="The menu: installed packs (and forms outside any pack) with what the caller may open")
def apps(engine: EngineDep, registry: RegistryDep, actor: ActorDep) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        forms: dict[str, dict[str, Any]] = {}
        for name in store.form_names(conn):
            try:
                compiled = registry.get(conn, name)
            except MissingFieldType:   # a field type's plug-in is gone: GET /api/forms flags it; the menu stands
                continue
            access = form_access(compiled, actor)
            if access.can("read") or access.can("create") or access.can("design"):
                forms[name] = {"name": name, "label": compiled.definition.label,
                               "actions": sorted(offered(conn, registry, compiled, access.actions))}
        reports, dashboards = openable(conn, registry, actor)
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


def openable(conn: Any, registry: Any, actor: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The reports and dashboards ``actor`` may open, by name: their roles allow it and the data behind
    them is theirs to read (a report's source form; every report of a dashboard), so nothing the menu
    lists answers "无权限"."""
    readable: dict[str, bool] = {}

    def reads(form: Any) -> bool:
        if not isinstance(form, str):
            return False
        if form not in readable:
            try:
                readable[form] = actor.reads_form(form) and form_access(registry.get(conn, form), actor).can("read")
            except (NotFound, MissingFieldType):
                readable[form] = False
        return readable[form]

    reports = {r["name"]: r for r in defs.listing(conn, "report")      # a print template's data source is not listed
               if r["menu"] and defs.allowed(r["roles"], actor) and (actor.is_admin or reads(r.get("form")))}
    dashboards = {d["name"]: d for d in defs.listing(conn, "dashboard")
                  if defs.allowed(d["roles"], actor) and (actor.is_admin or all(n in reports for n in d.get("reports") or []))}
    return reports, dashboards


def _short(d: dict[str, Any]) -> dict[str, Any]:
    return {"name": d["name"], "label": d.get("label") or d["name"], "source": d.get("source")}


@router.get("/directory/users", summary="Find people for pickers (any signed-in user): ?q= text, or ?ids=1,2")
def directory_users(engine: EngineDep, actor: ActorDep, q: QueryText = "", ids: Annotated[str, Query(max_length=10_000)] = "",
                    limit: int = Query(20, ge=1, le=200)) -> list[dict[str, Any]]:
    u = T.user
    stmt = sa.select(u.c.id, u.c.username, u.c.display_name, u.c.department_id).where(u.c.is_active.is_(True))
    if ids:
        wanted = id_list(ids, "ids", largest=MAX_ID32)
        stmt = stmt.where(u.c.id.in_(wanted))
    elif q:
        like = f"%{q}%"
        stmt = stmt.where(sa.or_(u.c.username.ilike(like), u.c.display_name.ilike(like)))
    with read_tx(engine) as conn:
        return [dict(r._mapping) for r in conn.execute(stmt.order_by(u.c.id).limit(limit))]


def _scanned_by(f: FieldSpec, display_field: str) -> bool:
    """A field a scanned code is looked up in: a barcode or auto-number (a scannable type), or the
    form's display field when it is a text."""
    return fieldtypes.scannable(f, text=f.key == display_field)


@router.get("/scan", summary="Shop floor: the records whose code (barcode, auto-number or display field) is the scanned text")
def scan(code: QueryText, engine: EngineDep, registry: RegistryDep, ctx: CtxDep, form: QueryName = None) -> dict[str, Any]:
    code = code.strip()
    if not code:
        raise InvalidInput("请扫描或输入编码", "scan or type a code", problems=[Problem("/code", "不能为空", "must not be empty", "required")])
    matches: list[dict[str, Any]] = []
    with read_tx(engine) as conn:
        for name in [form] if form else store.form_names(conn):
            try:
                compiled = registry.get(conn, name)
            except MissingFieldType:   # a field type's plug-in is gone: that form is not searched
                if form:
                    raise
                continue
            access = form_access(compiled, ctx.actor)
            if not access.can("read"):
                continue
            defn = compiled.definition
            keys = [f.key for f in defn.scalar_fields if _scanned_by(f, defn.display_field) and access.visible(f.key)]
            for key in keys:
                res = Q.list_records(conn=conn, registry=registry, ctx=ctx, form=name,
                                     filters=Q.parse_filters({key: code}, set()), limit=5)
                for item in res["items"]:
                    if not any(m["form"] == name and m["id"] == item["id"] for m in matches):
                        matches.append({"form": name, "form_label": defn.label, "id": item["id"], "matched": key,
                                        "title": item.get(defn.display_field) or f"#{item['id']}", "record": item})
    return {"code": code, "matches": matches}


VIEW_SPEC_MAX = 16_384     # bytes of JSON per saved view


def _form_read_access(conn: Any, registry: Any, actor: Any, form: str) -> Any:
    access = form_access(registry.get(conn, form), actor)
    access.require("read")
    return access


def _view_out(row: Any, actor: Any, spec: Any = None, partial: bool = False) -> dict[str, Any]:
    out = {"name": row.name, "shared": row.shared, "mine": row.owner_id == actor.id,
           "spec": row.spec if spec is None else spec, "updated_at": row.updated_at.isoformat()}
    if partial:
        out["partial"] = True
    return out


# Issue 16 review, item 5: a view names only fields its reader may see.
def _hidden_check(conn: Any, registry: Any, actor: Any, form: str, access: Any) -> Callable[[str], bool]:
    """``hidden(path)``: does a filter/sort/column path (``field``, ``field.sub``, ``field__op``) name a
    field this reader may not see (on the form, or on a referenced form through ``field.sub``)?"""
    compiled = registry.get(conn, form)

    def hidden(path: str) -> bool:
        key, _, sub = str(path).lstrip("-+").partition("__")[0].partition(".")
        f = compiled.definition.field(key)
        if f is None:
            return False          # a system column (id, created_at…) or a name the list refuses anyway
        if not access.visible(key):
            return True
        if sub and f.value_type == "reference":
            tacc = form_access(registry.get(conn, str(f.raw["form"])), actor)
            return not tacc.can("read") or not tacc.visible(sub)
        return False

    return hidden


def _spec_for(spec: Any, hidden: Callable[[str], bool], display_field: str | None) -> tuple[Any, bool]:
    """A shared view's spec without what names a hidden field; True when something was dropped."""
    if not isinstance(spec, dict):
        return spec, False
    out, dropped = dict(spec), False
    if isinstance(spec.get("columns"), list):
        out["columns"] = [c for c in spec["columns"] if not (isinstance(c, str) and hidden(c))]
        dropped |= len(out["columns"]) != len(spec["columns"])
    if isinstance(spec.get("filters"), dict):
        out["filters"] = {k: v for k, v in spec["filters"].items() if not hidden(k)}
        dropped |= len(out["filters"]) != len(spec["filters"])
    if isinstance(spec.get("sort"), str):
        parts = [p for p in spec["sort"].split(",") if p.strip()]
        kept = [p for p in parts if not hidden(p.strip())]
        out["sort"] = ",".join(kept) if kept else "-id"
        dropped |= len(kept) != len(parts)
    if spec.get("quick") and display_field and hidden(display_field):   # quick search runs on the display field
        out["quick"], dropped = "", True
    return out, dropped


def _hidden_problems(spec: dict[str, Any], hidden: Callable[[str], bool]) -> list[Problem]:
    """A user's own view naming a field hidden from them: one problem per such field."""
    named: list[tuple[str, str]] = []
    if isinstance(spec.get("columns"), list):
        named += [(f"/spec/columns/{i}", c) for i, c in enumerate(spec["columns"]) if isinstance(c, str)]
    if isinstance(spec.get("filters"), dict):
        named += [(f"/spec/filters/{k}", k) for k in spec["filters"]]
    if isinstance(spec.get("sort"), str):
        named += [("/spec/sort", p.strip()) for p in spec["sort"].split(",") if p.strip()]
    return [Problem(path, f"字段 {name} 对你不可见，不能用在视图中；请去掉它", f"the field {name} is hidden from you and cannot be "
                    "used in a view; remove it", "hidden_field") for path, name in named if hidden(name)]


@router.get("/views/{form}", summary="Saved list views of a form: the caller's own and the shared ones")
def list_views(form: PathName, engine: EngineDep, registry: RegistryDep, actor: ActorDep) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        access = _form_read_access(conn, registry, actor, form)
        rows = conn.execute(sa.select(T.list_view).where(T.list_view.c.form == form, sa.or_(
            T.list_view.c.owner_id == actor.id, T.list_view.c.shared.is_(True))).order_by(T.list_view.c.name)).all()
        hidden = _hidden_check(conn, registry, actor, form, access)
        display_field = registry.get(conn, form).definition.display_field
        # the caller's own view first when a shared one has the same name; another's view shows no hidden field
        out: dict[str, dict[str, Any]] = {}
        for r in sorted(rows, key=lambda r: r.owner_id == actor.id):
            spec, dropped = (r.spec, False) if r.owner_id == actor.id else _spec_for(r.spec, hidden, display_field)
            out[r.name] = _view_out(r, actor, spec, dropped)
    return list(out.values())


@router.put("/views/{form}/{name}", summary="Save a list view (columns, filters, sort) under a name; shared=true needs design rights")
def put_view(form: PathName, name: PathName, body: Annotated[Any, Body()], engine: EngineDep, registry: RegistryDep,
             actor: ActorDep) -> dict[str, Any]:
    problems = []
    if not 1 <= len(name.strip()) <= 64 or name != name.strip():
        problems.append(Problem("/name", "视图名称须为 1–64 个字符，首尾不能有空格", "a view name has 1–64 characters, no leading or trailing spaces", "length"))
    if not isinstance(body, dict):
        problems.append(Problem("", "请求体应为对象 {spec, shared}", "the body must be an object {spec, shared}", "type"))
        body = {}
    spec = body.get("spec")
    if not isinstance(spec, dict):
        problems.append(Problem("/spec", "spec 应为对象（columns、filters、sort）", "spec must be an object (columns, filters, sort)", "type"))
    elif len(json.dumps(spec, ensure_ascii=False).encode()) > VIEW_SPEC_MAX:
        problems.append(Problem("/spec", f"视图太大（上限 {VIEW_SPEC_MAX} 字节）", f"the view is too large (at most {VIEW_SPEC_MAX} bytes)", "size"))
    else:
        for key, typ in (("columns", list), ("filters", dict)):
            if key in spec and not isinstance(spec[key], typ):
                problems.append(Problem(f"/spec/{key}", "类型不对", f"must be a{'n object' if typ is dict else ' list'}", "type"))
    shared = body.get("shared", False)
    if not isinstance(shared, bool):
        problems.append(Problem("/shared", "应为 true 或 false", "must be true or false", "type"))
    if problems:
        raise InvalidInput("视图有误", "invalid view", problems=problems)
    now = dt.datetime.now(dt.timezone.utc)
    with write_tx(engine) as conn:
        access = _form_read_access(conn, registry, actor, form)
        if shared and not access.can("design"):
            raise AccessDenied(f"共享视图需要表单 {form} 的设计权限", f"sharing a view needs design rights on form {form}")
        bad = _hidden_problems(spec, _hidden_check(conn, registry, actor, form, access))
        if bad:
            raise InvalidInput(f"视图用到了对你不可见的字段，未保存：{bad[0].zh}", f"the view names fields hidden from you; "
                               f"nothing was saved: {bad[0].en}", problems=bad)
        key = (T.list_view.c.form == form, T.list_view.c.owner_id == actor.id, T.list_view.c.name == name)
        done = conn.execute(T.list_view.update().where(*key).values(spec=spec, shared=shared, updated_at=now)).rowcount
        if not done:
            conn.execute(T.list_view.insert().values(form=form, name=name, owner_id=actor.id, shared=shared, spec=spec,
                                                     updated_at=now))
        row = conn.execute(sa.select(T.list_view).where(*key)).one()
    return _view_out(row, actor)


@router.delete("/views/{form}/{name}", status_code=204, summary="Delete one of the caller's saved views (a designer may delete a shared one)")
def delete_view(form: PathName, name: PathName, engine: EngineDep, registry: RegistryDep, actor: ActorDep) -> None:
    with write_tx(engine) as conn:
        access = _form_read_access(conn, registry, actor, form)
        mine = (T.list_view.c.form == form, T.list_view.c.name == name, T.list_view.c.owner_id == actor.id)
        if conn.execute(T.list_view.delete().where(*mine)).rowcount:
            return
        shared = (T.list_view.c.form == form, T.list_view.c.name == name, T.list_view.c.shared.is_(True))
        if conn.execute(sa.select(T.list_view.c.id).where(*shared)).first() is None:
            raise NotFound(f"没有视图 {name}", f"no view {name}")
        if not access.can("design"):
            raise AccessDenied("只有表单设计者能删除共享视图", "only the form's designers may delete a shared view")
        conn.execute(T.list_view.delete().where(*shared))


def ui_dist() -> Path | None:
    """The built front end, or None when it was never built.

    ``MOM_UI_DIST`` names another build folder (a developer's private ``vite build --outDir``)."""
    own = os.environ.get("MOM_UI_DIST")
    if own and (Path(own) / "index.html").is_file():
        return Path(own)
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
