"""Reports, dashboards, SPC, print templates.

Report parameters travel as plain query parameters (``?period=last_30_days&line=L1,L2``); the
reserved names are ``format``, ``lang``, ``limit`` (and ``point.<dimension>`` for drill-down)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import HTMLResponse, Response

from mom.engines.forms import fieldtypes
from mom.engines.expressions.templates import TemplateLimits
from mom.engines.reports import dashboard, printing, service, spc, store
from mom.engines.reports import run as runner
from mom.engines.reports.spc import report as spc_report
from mom.platform.api.deps import AdminDep, CtxDep, EngineDep, RegistryDep, SettingsDep, same_name
from mom.platform.api.models import ERRORS, ReportDataRead
from mom.platform.api.params import MAX_NAME, Limit, PathName, QueryId, QueryName, QueryNumber, QueryText
from mom.platform.db import tables as T
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import InvalidInput, Problem

router = APIRouter(prefix="/api", tags=["reports"], responses=ERRORS)
BodyDep = Annotated[Any, Body()]
RESERVED = {"format", "lang", "limit", "widget", "record_id", "value", "subgroup", "chart", "lsl", "usl", "rules"}


def _params(request: Request, extra_reserved: set[str] = frozenset()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in request.query_params.keys():
        if k in RESERVED or k in extra_reserved or k.startswith("point."):
            continue
        vals = request.query_params.getlist(k)
        out[k] = vals[0] if len(vals) == 1 else vals
    return out


def _tz(settings: Any) -> dt.tzinfo:
    return fieldtypes.plant_tz(settings.timezone)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _download(content: bytes, media: str, filename: str) -> Response:
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# ---------------------------------------------------------------- reports
@router.put("/reports/{name}", summary="Publish a report definition (validated against the live forms)")
def put_report(name: PathName, body: BodyDep, engine: EngineDep, registry: RegistryDep, settings: SettingsDep,
               actor: AdminDep) -> dict[str, Any]:
    same_name(name, body)
    with write_tx(engine) as conn:
        return service.apply(conn, registry, body, now=_now(), tz=_tz(settings), actor_id=actor.id)


@router.post("/reports/validate", summary="Check a report definition without publishing it")
def validate_report(body: BodyDep, engine: EngineDep, registry: RegistryDep, settings: SettingsDep, ctx: CtxDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return {"ok": True, **service.validate(conn, registry, body, tz=_tz(settings), actor=ctx.actor)}


@router.post("/reports/preview", summary="Run an unpublished definition (designer live preview): body {definition, params}; at most 200 rows")
def preview_report(body: BodyDep, engine: EngineDep, registry: RegistryDep, settings: SettingsDep, ctx: CtxDep) -> dict[str, Any]:

    raw, params = _draft(body, "报表", "report")
    with read_tx(engine) as conn:
        service.validate(conn, registry, raw, tz=_tz(settings), actor=ctx.actor)   # the caller's forms only, first
        return runner.execute(conn, registry, ctx, raw, params,
                              max_scan=raw.get("max_scan_rows", settings.report_max_scan_rows), limit=200, draft=True)


def _draft(body: Any, zh: str, en: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The {definition, params} body of a designer preview; a wrong shape is refused at its path."""
    problems = []
    if not isinstance(body, dict) or not isinstance(body.get("definition"), dict):
        problems.append(Problem("/definition", f"必须是{zh}定义对象", f"must be a {en} definition object", "type"))
    elif not isinstance(body.get("params") or {}, dict):
        problems.append(Problem("/params", "必须是对象：参数名 -> 值", "must be an object: parameter -> value", "type"))
    if problems:
        raise InvalidInput("请求体应为 {definition, params}", "the body is {definition, params}", problems=problems)
    return body["definition"], body.get("params") or {}


@router.get("/reports", summary="Reports the caller may run")
def list_reports(engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> list[dict[str, Any]]:
    from mom.platform.api.routes_ui import openable   # the menu's rule: roles allow it, its data is readable

    with read_tx(engine) as conn:
        return list(openable(conn, registry, ctx.actor)[0].values())


@router.get("/reports/{name}", summary="A report's definition and versions")
def get_report(name: PathName, engine: EngineDep, ctx: CtxDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        raw, version = store.get(conn, "report", name)
        store.require_use("report", raw, ctx.actor)
        return {"name": name, "version": version, "definition": raw, "versions": store.versions(conn, "report", name)}


@router.delete("/reports/{name}", summary="Remove a report (its versions stay for audit)")
def delete_report(name: PathName, engine: EngineDep, actor: AdminDep) -> dict[str, Any]:
    with write_tx(engine) as conn:
        service.delete(conn, name)
    return {"name": name, "deleted": True}


@router.get("/reports/{name}/data", summary="Run a report: ?<param>=value…&format=json|csv|xlsx&lang=zh-CN|en&limit=n",
            responses={200: {"model": ReportDataRead, "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}}}}})
def report_data(name: PathName, request: Request, engine: EngineDep, registry: RegistryDep, settings: SettingsDep, ctx: CtxDep,
                format: QueryText = "json", lang: QueryText = "zh-CN",
                limit: Annotated[int | None, Query(ge=1, le=1_000_000)] = None) -> Any:
    with read_tx(engine) as conn:
        result = service.run(conn, registry, ctx, name, _params(request), max_scan=settings.report_max_scan_rows, limit=limit)
        if format == "json":
            result["scope"] = _read_scope(conn, registry, ctx, name)
    if format == "json":
        return result
    content, media, ext = service.export(result, format, lang)
    return _download(content, media, f"{name}.{ext}")


@router.get("/reports/{name}/drill", summary="The records behind one result row: ?point.<dimension>=value&<params>")
def report_drill(name: PathName, request: Request, engine: EngineDep, registry: RegistryDep, ctx: CtxDep,
                 limit: Limit = 200) -> dict[str, Any]:
    point = {k[6:]: (v if v != "" else None) for k, v in request.query_params.items() if k.startswith("point.")}
    if not point:
        raise InvalidInput("需要 point.<维度>=值", "point.<dimension>=value is required",
                           problems=[Problem("/point", "缺少下钻点", "no drill point given", "required")])
    with read_tx(engine) as conn:
        return service.drill(conn, registry, ctx, name, _params(request), point, limit=max(1, min(limit, 1000)))


@router.get("/reports/{name}/spc", summary="Control chart and capability from a report's rows")
def report_spc(name: PathName, request: Request, engine: EngineDep, registry: RegistryDep, settings: SettingsDep, ctx: CtxDep,
               value: Annotated[str, Query(max_length=MAX_NAME)], subgroup: QueryName = None, chart: QueryName = None,
               lsl: QueryNumber = None, usl: QueryNumber = None, rules: QueryText = "western_electric",
               size: QueryName = None, k: Annotated[float, Query(gt=0, le=6)] = 3.0,
               span: Annotated[int, Query(ge=2, le=25)] = 2, target: QueryNumber = None) -> dict[str, Any]:
    """Every row of the report is read (up to spc.report.MAX_ROWS); past that the chart is refused in
    words, never drawn on part of the data."""
    with read_tx(engine) as conn:
        result = service.run(conn, registry, ctx, name, _params(request), max_scan=settings.report_max_scan_rows,
                             limit=spc_report.MAX_ROWS)
    keys = {c["key"] for c in result["columns"]}
    for attr, v in (("value", value), ("subgroup", subgroup), ("size", size)):
        if v is not None and v not in keys:
            raise InvalidInput(f"报表没有列 {v}", f"the report has no column {v}",
                               problems=[Problem(f"/{attr}", f"没有列 {v}", f"no column {v}", "unknown_column")])
    _require_number_column(result, value)
    w = {"type": "control_chart", "value": value, "subgroup": subgroup, "lsl": lsl, "usl": usl, "rules": rules,
         "size": size, "k": k, "span": span, "target": target}
    if chart:
        w["chart"] = chart
    return dashboard.control_chart(w, result)   # an SpcError is a MomError: 422 invalid_input as it stands


_NOT_NUMBERS = frozenset({"text", "date", "datetime", "time", "select", "multiselect", "reference", "user", "department",
                          "boolean", "barcode", "autonumber"})


def _require_number_column(result: dict[str, Any], key: str) -> None:
    """An SPC chart needs numbers: a text, date or choice column as ``value`` is refused with a 422 naming
    the parameter (not a 500 from float('LOT-1'))."""
    col = next((c for c in result["columns"] if c["key"] == key), {})
    ok = col.get("type") not in _NOT_NUMBERS
    if ok:
        try:
            for row in result["rows"]:
                v = row.get(key)
                if v is not None and (isinstance(v, bool) or not isinstance(float(v), float)):
                    ok = False
                    break
        except (TypeError, ValueError):
            ok = False
    if not ok:
        raise InvalidInput(f"参数 value 必须是数字列：{key} 不是数字，请选择一个数字字段（如测量值）",
                           f"the value parameter must be a number column: {key} is not numeric; choose a number field (such as a measurement)",
                           problems=[Problem("/value", f"{key} 不是数字列，value 必须是数字字段", f"{key} is not a number column; value must be a number field", "type")])


@router.post("/spc/analyze", summary="Control limits, rule violations and capability for given data")
def spc_analyze(body: BodyDep, ctx: CtxDep) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInput("请求体应为 JSON 对象", "the request body must be a JSON object")
    kind = body.get("chart", "i_mr")
    rules = body.get("rules", "western_electric")
    try:
        if kind == "i_mr":
            values = body.get("values")
            if not isinstance(values, list):
                raise InvalidInput("i_mr 需要 values（数字列表）", "i_mr needs values (a list of numbers)",
                                   problems=[Problem("/values", "应为数字列表", "expected a list of numbers", "type")])
            res = spc.i_mr(values, rules=rules, span=body.get("span", 2), **_analyze_opts(body))
            flat = values
        elif kind in ("xbar_r", "xbar_s"):
            groups = body.get("subgroups")
            if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
                raise InvalidInput(f"{kind} 需要 subgroups（数字列表的列表）", f"{kind} needs subgroups (a list of lists of numbers)",
                                   problems=[Problem("/subgroups", "应为列表的列表", "expected a list of lists", "type")])
            res = (spc.xbar_r if kind == "xbar_r" else spc.xbar_s)(groups, rules=rules, **_analyze_opts(body))
            flat = [x for g in groups for x in g]
        elif kind in ("p", "np", "c", "u", "ewma", "cusum"):
            return _analyze_more(kind, body, rules)
        else:
            raise InvalidInput(f"未知图类型 {kind}（可用 {'、'.join(spc_report.CHARTS)}）",
                               f"unknown chart {kind} (use {', '.join(spc_report.CHARTS)})",
                               problems=[Problem("/chart", "未知图类型", "unknown chart", "enum")])
        if body.get("lsl") is not None or body.get("usl") is not None:
            res["capability"] = spc.capability(flat, lsl=body.get("lsl"), usl=body.get("usl"), sigma_within=res["sigma_within"])
    except spc.SpcError:
        raise                   # a MomError already: 422 invalid_input with its own text
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"数据必须是数字：{exc}", f"the data must be numbers: {exc}") from None
    return res


def _analyze_opts(body: dict[str, Any]) -> dict[str, Any]:
    """k-sigma, phase II ``baseline`` {mean, sigma} and ``exclude`` {subgroup number from 1: reason}."""
    out: dict[str, Any] = {"k": body.get("k", 3.0)}
    if body.get("baseline") is not None:
        out["standard"] = body["baseline"]
    ex = body.get("exclude")
    if ex:
        if not isinstance(ex, dict):
            raise InvalidInput("exclude 应为 {子组序号: 原因}", "exclude must map a subgroup number to a reason",
                               problems=[Problem("/exclude", "应为对象", "expected an object", "type")])
        out["exclude"] = {int(key) - 1 if str(key).isdigit() else key: why for key, why in ex.items()}
    return out


def _analyze_more(kind: str, body: dict[str, Any], rules: Any) -> dict[str, Any]:
    """p/np/u: counts + sizes; c: counts; ewma/cusum: values (+ target, sigma, lambda/L or k/h)."""
    data = body.get("values" if kind in ("ewma", "cusum") else "counts")
    if not isinstance(data, list):
        key = "values" if kind in ("ewma", "cusum") else "counts"
        raise InvalidInput(f"{kind} 需要 {key}（数字列表）", f"{kind} needs {key} (a list of numbers)",
                           problems=[Problem(f"/{key}", "应为数字列表", "expected a list of numbers", "type")])
    k = body.get("k", 3.0)
    if kind == "ewma":
        return spc.ewma(data, lam=body.get("lambda", 0.2), L=body.get("L", 3.0), target=body.get("target"), sigma=body.get("sigma"))
    if kind == "cusum":
        return spc.cusum(data, k=body.get("cusum_k", 0.5), h=body.get("h", 5.0), target=body.get("target"), sigma=body.get("sigma"))
    if kind == "c":
        return spc.c_chart(data, rules=rules, k=k)
    sizes = body.get("sizes")
    if not isinstance(sizes, list):
        raise InvalidInput(f"{kind} 需要 sizes（样本量列表）", f"{kind} needs sizes (a list of sample sizes)",
                           problems=[Problem("/sizes", "应为数字列表", "expected a list of numbers", "type")])
    return {"p": spc.p_chart, "np": spc.np_chart, "u": spc.u_chart}[kind](data, sizes, rules=rules, k=k)


@router.get("/report-runs", summary="Scheduled report runs (newest first)")
def report_runs(engine: EngineDep, actor: AdminDep, report: QueryName = None, limit: Limit = 100) -> list[dict[str, Any]]:
    run = T.report_run
    q = (sa.select(*[c for c in run.c if c.key != "attachment_id"], T.attachment.c.token.label("file"))
         .outerjoin(T.attachment, T.attachment.c.id == run.c.attachment_id)   # the file's public id, not its key
         .order_by(run.c.id.desc()).limit(max(1, min(limit, 1000))))
    if report:
        q = q.where(run.c.report == report)
    with read_tx(engine) as conn:
        return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r._mapping.items()} for r in conn.execute(q)]


# ---------------------------------------------------------------- dashboards
@router.put("/dashboards/{name}", summary="Publish a dashboard layout")
def put_dashboard(name: PathName, body: BodyDep, engine: EngineDep, registry: RegistryDep, settings: SettingsDep,
                  actor: AdminDep) -> dict[str, Any]:
    same_name(name, body)
    with write_tx(engine) as conn:
        return dashboard.apply(conn, registry, body, now=_now(), tz=_tz(settings), actor_id=actor.id)


@router.post("/dashboards/preview", summary="Widgets' data for an unpublished dashboard (designer preview): body {definition, params}")
def preview_dashboard(body: BodyDep, engine: EngineDep, registry: RegistryDep, settings: SettingsDep, ctx: CtxDep) -> dict[str, Any]:
    raw, params = _draft(body, "看板", "dashboard")
    with read_tx(engine) as conn:
        dashboard.validate(conn, registry, raw, tz=_tz(settings))
        return dashboard.data_of(conn, registry, ctx, raw, params,
                                 name=str(raw.get("name") or "draft"), version=None, max_scan=settings.report_max_scan_rows)


@router.get("/dashboards", summary="Dashboards the caller may open")
def list_dashboards(engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> list[dict[str, Any]]:
    from mom.platform.api.routes_ui import openable

    with read_tx(engine) as conn:
        return list(openable(conn, registry, ctx.actor)[1].values())


@router.get("/dashboards/{name}", summary="A dashboard's definition")
def get_dashboard(name: PathName, engine: EngineDep, ctx: CtxDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        raw, version = store.get(conn, "dashboard", name)
        store.require_use("dashboard", raw, ctx.actor)
        return {"name": name, "version": version, "definition": raw}


@router.get("/dashboards/{name}/data", summary="Every widget's data and ECharts option: ?<param>=value&widget=<id>")
def dashboard_data(name: PathName, request: Request, engine: EngineDep, registry: RegistryDep, settings: SettingsDep,
                   ctx: CtxDep, widget: QueryName = None) -> dict[str, Any]:
    with read_tx(engine) as conn:
        out = dashboard.data(conn, registry, ctx, name, _params(request), max_scan=settings.report_max_scan_rows, only=widget)
        raw, _ = store.get(conn, dashboard.KIND, name)
        report_of = {w.get("id"): w.get("report") for w in raw.get("widgets", [])}
        scopes: dict[str, Any] = {}
        for w in out.get("widgets", []):
            report = report_of.get(w.get("id"))
            if report and report not in scopes:
                scopes[report] = _read_scope(conn, registry, ctx, report)
            if report and scopes[report] and scopes[report]["limited"]:   # only then: unlimited answers stay as the CLI's
                w["scope"] = scopes[report]
        out["scope"] = next((s for s in scopes.values() if s and s["limited"]), None)
        return out


def _read_scope(conn: Any, registry: Any, ctx: Any, report: str) -> dict[str, Any] | None:
    """The read scope the caller sees a report's source form under, in words (records.query.read_scope);
    None when it cannot be told (a retired report, a source form gone)."""
    from mom.engines.records.query import read_scope
    from mom.platform.errors import MomError

    try:
        raw, _ = store.get(conn, service.KIND, report)
        return read_scope(registry.get(conn, str(raw.get("source", "")).split(".")[0]), ctx.actor)
    except (MomError, KeyError, TypeError):
        return None


# ---------------------------------------------------------------- print templates
@router.put("/print-templates/{name}", summary="Publish a print template")
def put_template(name: PathName, body: BodyDep, engine: EngineDep, registry: RegistryDep, actor: AdminDep,
                 settings: SettingsDep) -> dict[str, Any]:
    same_name(name, body)
    limits = TemplateLimits.from_settings(settings)
    with read_tx(engine) as conn:   # the trial render runs before the write lock is taken
        printing.validate(conn, registry, body, limits=limits)
    with write_tx(engine) as conn:
        return printing.apply(conn, registry, body, now=_now(), actor_id=actor.id, limits=limits)


@router.get("/print-templates", summary="Print templates")
def list_templates(engine: EngineDep, ctx: CtxDep) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        return store.listing(conn, "print_template")


@router.get("/print/{name}", summary="Print: ?record_id=n (form templates) or report parameters; &format=html|pdf",
            responses={200: {"content": {"text/html": {"schema": {"type": "string"}},
                                         "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
def print_doc(name: PathName, request: Request, engine: EngineDep, registry: RegistryDep, ctx: CtxDep,
              settings: SettingsDep, record_id: QueryId = None, format: QueryText = "html") -> Any:
    with read_tx(engine) as conn:
        page = printing.render(conn, registry, ctx, name, record_id=record_id, params=_params(request),
                               limits=TemplateLimits.from_settings(settings))
    if format == "html":
        return HTMLResponse(page)
    if format == "pdf":
        return Response(printing.to_pdf(page), media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}{f"-{record_id}" if record_id else ""}.pdf"'})
    raise InvalidInput(f"未知格式 {format}（可用 html、pdf）", f"unknown format {format} (use html, pdf)",
                       problems=[Problem("/format", "未知格式", "unknown format", "enum")])
