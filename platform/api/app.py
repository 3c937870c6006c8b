"""The HTTP application: ``create_app()`` wires settings, the database and the routers."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from sqlalchemy.engine import Engine

from mom.platform.api import (docs_ui, errors, models, routes_auth, routes_forms, routes_records, routes_reports, routes_scheduling,
                              routes_ui, routes_workflow)
from mom.platform.api import routes_approvals
from mom.platform.api import routes_files, routes_packs, routes_permissions, routes_production
from mom.platform.api import routes_mrp
from mom.platform.api import routes_inventory
from mom.platform.api import routes_replenishment
from mom.platform.api import routes_quality
from mom.platform.api import routes_quality_spc
from mom.platform.api import routes_quality_inspection
from mom.platform.api import routes_quality_ncr
from mom.platform.api import routes_maintenance
from mom.platform.api import routes_trace
from mom.platform.api import routes_devices
from mom.platform.api import routes_oee
from mom.engines.packs import startup as packs_startup
from mom.platform.api.deps import ActorCache
from mom.platform.api.textinput import InputGuard
from mom.platform.api.headers import SecurityHeaders
from mom.platform.composition import form_registry as registry
from mom.platform.db.engine import make_engine
from mom.platform.db.migrate import upgrade
from mom.platform.settings import Settings, get_settings


class BodyLimit:
    """Refuse request bodies larger than the configured limit (413) before reading them."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            resp = JSONResponse({"code": "too_large", "message": {"zh-CN": f"请求体超过 {self.limit} 字节",
                                                                   "en": f"request body larger than {self.limit} bytes"}}, 413)
            return await resp(scope, receive, send)
        seen = 0

        async def limited() -> Any:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:   # FastAPI passes an HTTPException on: 413 in the one error shape
                    raise HTTPException(413, f"request body larger than {self.limit} bytes")
            return msg

        return await self.app(scope, limited, send)


def create_app(settings: Settings | None = None, engine: Engine | None = None, *, migrate: bool = True) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.resolved_database_url())
    if migrate:
        upgrade(engine)
    app = FastAPI(title="MOM platform API", version="0.1.0",
                  description="低代码制造运营管理平台 / Low-code manufacturing operations management platform",
                  openapi_url=None, docs_url=None, redoc_url=None)   # served by docs_ui: offline, gated in production
    app.state.settings = settings
    app.state.engine = engine
    packs_startup.register_at_start(engine)   # installed packs' hooks.py, before the registries cache their plug-ins
    app.state.registry = registry()
    app.state.flows = app.state.registry.hooks.flows
    app.state.actor_cache = ActorCache(ttl=settings.auth_cache_seconds)
    errors.install(app)
    models.install(app)   # the declared response models alone document the answers
    # Records first: they take most requests, and FastAPI tries the routes in order. No records path
    # shadows another router's (the workflow's /records/{form}/{id}/transitions|timeline have fixed
    # segments that no records route has).
    app.include_router(routes_records.router)
    app.include_router(routes_auth.router)
    app.include_router(routes_files.router)
    app.include_router(routes_forms.router)
    app.include_router(routes_permissions.router)
    app.include_router(routes_approvals.router)     # before routes_workflow: /workflow-instances/{id}/revoke
    app.include_router(routes_workflow.router)
    app.include_router(routes_reports.router)
    app.include_router(routes_scheduling.router)
    app.include_router(routes_ui.router)
    app.include_router(routes_packs.router)
    app.include_router(routes_production.router)
    app.include_router(routes_mrp.router)
    app.include_router(routes_inventory.router)
    app.include_router(routes_replenishment.router)
    app.include_router(routes_quality.router)
    app.include_router(routes_quality_spc.router)
    app.include_router(routes_quality_inspection.router)
    app.include_router(routes_quality_ncr.router)
    app.include_router(routes_maintenance.router)
    app.include_router(routes_trace.router)
    app.include_router(routes_devices.router)
    app.include_router(routes_oee.router)

    @app.get("/api/health", tags=["ops"], responses=models.ERRORS)
    def health() -> dict[str, str]:
        return {"status": "ok", "database": engine.dialect.name}

    docs_ui.install(app)   # /openapi.json, /docs, /redoc from this machine
    routes_ui.mount(app)   # the web app at /

    app.add_middleware(InputGuard, max_json_depth=settings.max_json_depth)   # NUL, lone surrogates, depth: 422
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes)
    app.add_middleware(SecurityHeaders)   # outermost: every answer, a 413 too, carries CSP, nosniff, …
    return app


def create_served_app() -> FastAPI:
    """The app of each HTTP worker process of ``mom serve --workers N`` (N > 1): the parent process
    has migrated the database and runs the outbox/timer worker, so the workers only serve."""
    return create_app(migrate=False)
