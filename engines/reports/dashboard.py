"""Dashboards: validate a ``mom.dashboard/1`` layout, and produce each widget's data and its ECharts
option on the server (the client only renders). Every widget runs its report with the caller's
permissions; a widget that fails (a report the caller may not use, a bad parameter) carries its own
error and the others still show."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.forms.model import text_of
from mom.engines.records.context import Ctx
from mom.engines.reports import run as runner
from mom.engines.reports import service, spc, store, totals, widgets
from mom.engines.reports.spc import report as spc_report
from mom.engines.reports.widgets import refuse_categories
from mom.platform.errors import InvalidInput, MomError, ProblemList, did_you_mean

KIND = "dashboard"
NEEDS = {"kpi": ("value",), "line": ("x", "y"), "bar": ("x", "y"), "stacked_bar": ("x", "y"), "pie": ("x", "value"),
         "gauge": ("value",), "scatter": ("x", "y"), "control_chart": ("value",), "pareto": ("x", "value"),
         "gantt": ("category", "start", "end"), "table": (), "text": ("text",)}


def validate(conn: Connection, forms: Any, raw: Any, *, tz: dt.tzinfo = dt.timezone.utc,
             pending: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``pending``: report definitions published together with this dashboard (``mom report validate DIR``
    checks a folder as ``apply`` would publish it: its reports first)."""
    problems = ProblemList()
    store.check_shape(KIND, raw, problems)
    pending = pending or {}
    reports = set(store.names(conn, "report")) | set(pending)
    ids: set[str] = set()
    dash_params = {p["key"] for p in raw.get("params", [])}
    for i, w in enumerate(raw["widgets"]):
        at = f"/widgets/{i}"
        if w["id"] in ids:
            problems.add(f"{at}/id", f"组件 id {w['id']} 重复", f"duplicate widget id {w['id']}", "duplicate")
        ids.add(w["id"])
        wz, we = widgets.widget_name(w)
        for need in NEEDS[w["type"]]:
            if need not in w:
                rz, re_ = widgets.ROLE_NAMES.get(need, (need, need))
                problems.add(f"{at}/{need}", f"{wz}还没有选{rz}：请选一个", f"the {we} needs a {re_}: pick one", "required")
        if w["type"] == "text":
            continue
        if "report" not in w:
            problems.add(f"{at}/report", f"{wz}还没有选报表：请选一个", f"the {we} needs a report: pick one", "required")
            continue
        if w["report"] not in reports:
            problems.add(f"{at}/report", f"报表 {w['report']} 不存在{did_you_mean(w['report'], reports)}",
                         f"report {w['report']} does not exist{did_you_mean(w['report'], reports)}", "unknown_report")
            continue
        rep = pending[w["report"]] if w["report"] in pending else store.get(conn, "report", w["report"])[0]
        keys = {d["key"] for d in rep.get("dimensions", [])} | {m["key"] for m in rep.get("measures", [])} | \
               {c["key"] for c in rep.get("columns", [])}
        for attr in ("x", "series", "value", "trend", "subgroup", "size", "start", "end", "category"):
            if attr in w and w[attr] not in keys:
                problems.add(f"{at}/{attr}", f"报表 {w['report']} 没有列 {w[attr]}{did_you_mean(w[attr], keys)}",
                             f"report {w['report']} has no column {w[attr]}{did_you_mean(w[attr], keys)}", "unknown_column")
        for j, y in enumerate(w.get("y", [])):
            if y not in keys:
                problems.add(f"{at}/y/{j}", f"报表 {w['report']} 没有列 {y}{did_you_mean(y, keys)}",
                             f"report {w['report']} has no column {y}{did_you_mean(y, keys)}", "unknown_column")
        if not any(p.path.startswith(f"{at}/") for p in problems.items):
            widgets.check_numbers(w, at, rep, _form_of(conn, forms, rep), problems)
            why = totals.problem(w, rep)
            if why:
                problems.add(f"{at}/value", why[0], why[1], "not_additive")
        rparams = {p["key"] for p in rep.get("params", [])}
        for k, v in (w.get("params") or {}).items():
            if k not in rparams:
                problems.add(f"{at}/params/{k}", f"报表 {w['report']} 没有参数 {k}{did_you_mean(k, rparams)}",
                             f"report {w['report']} has no parameter {k}{did_you_mean(k, rparams)}", "unknown_param")
            if isinstance(v, str) and v.startswith("$") and v[1:] not in dash_params:
                problems.add(f"{at}/params/{k}", f"看板没有参数 {v[1:]}", f"the dashboard has no parameter {v[1:]}", "unknown_param")
    problems.raise_if_any("看板定义有误", "the dashboard definition is invalid")
    return {"name": raw["name"], "widgets": len(raw["widgets"])}


def _form_of(conn: Connection, forms: Any, rep: Mapping[str, Any]) -> Any:
    """The report's source form (None when it cannot be read: the columns' types are then not checked)."""
    try:
        return forms.get(conn, rep["source"]) if forms is not None and isinstance(rep.get("source"), str) else None
    except MomError:
        return None


def apply(conn: Connection, forms: Any, raw: Any, *, now: dt.datetime, tz: dt.tzinfo, actor_id: int | None) -> dict[str, Any]:
    validate(conn, forms, raw, tz=tz)
    return store.apply(conn, KIND, raw, now=now, actor_id=actor_id)


def _widget_params(w: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in (w.get("params") or {}).items():
        if isinstance(v, str) and v.startswith("$"):
            if given.get(v[1:]) not in (None, ""):
                out[k] = given[v[1:]]
        else:
            out[k] = v
    return out


def data(conn: Connection, forms: Any, ctx: Ctx, name: str, given: Mapping[str, Any], *,
         max_scan: int = runner.DEFAULT_MAX_SCAN, only: str | None = None) -> dict[str, Any]:
    raw, version = store.get(conn, KIND, name)
    store.require_use(KIND, raw, ctx.actor)
    return data_of(conn, forms, ctx, raw, given, name=name, version=version, max_scan=max_scan, only=only)


def data_of(conn: Connection, forms: Any, ctx: Ctx, raw: Mapping[str, Any], given: Mapping[str, Any], *, name: str,
            version: int | None, max_scan: int = runner.DEFAULT_MAX_SCAN, only: str | None = None) -> dict[str, Any]:
    """Every widget's data for a (published or draft) dashboard definition."""
    known = {p["key"] for p in raw.get("params", [])}
    unknown = [k for k in given if k not in known]
    if unknown:
        raise InvalidInput(f"看板没有参数 {unknown[0]}{did_you_mean(unknown[0], known)}",
                           f"the dashboard has no parameter {unknown[0]}{did_you_mean(unknown[0], known)}")
    cache: dict[tuple[str, str], dict[str, Any]] = {}
    widgets = []
    for w in raw["widgets"]:
        if only and w["id"] != only:
            continue
        item: dict[str, Any] = {"id": w["id"], "type": w["type"], "title": text_of(w.get("title") or w["id"]),
                                "position": w.get("position")}
        if w["type"] == "text":
            item["text"] = text_of(w["text"])
            widgets.append(item)
            continue
        params = _widget_params(w, given)
        ck = (w["report"], repr(sorted(params.items())))
        try:
            if ck not in cache:
                cache[ck] = service.run(conn, forms, ctx, w["report"], params, max_scan=max_scan)
            result = cache[ck]
            if w["type"] == "control_chart" and result.get("truncated"):   # read every row, or refuse (spc.report)
                result = service.run(conn, forms, ctx, w["report"], params, max_scan=max_scan, limit=spc_report.MAX_ROWS)
            refuse_categories(w, result)
            result = _overall(conn, forms, ctx, w, params, result, max_scan)
            item.update(render(w, result))
            if w.get("drill", True) and w["type"] in ("line", "bar", "stacked_bar", "pie", "pareto", "table"):
                dims = [c["key"] for c in result["columns"] if c["kind"] == "dimension"]
                item["drill"] = {"report": w["report"], "params": params,
                                 "path": f"/api/reports/{w['report']}/drill", "dimensions": dims}
        except MomError as exc:
            item["error"] = {"code": exc.code, "message": {"zh-CN": exc.zh, "en": exc.en}}
        widgets.append(item)
    return {"dashboard": name, "version": version, "label": text_of(raw.get("label") or name),
            "refresh_seconds": raw.get("refresh_seconds"), "big_screen": raw.get("big_screen"),
            "columns": raw.get("columns", 24), "params": raw.get("params", []), "widgets": widgets}


def _overall(conn: Connection, forms: Any, ctx: Ctx, w: Mapping[str, Any], params: Mapping[str, Any],
             result: dict[str, Any], max_scan: int) -> dict[str, Any]:
    """A KPI or gauge over a report with categories: the report's answer without them (totals.py), with
    the value under the widget's key; other widgets: ``result`` as it is."""
    rep, _ = store.get(conn, "report", w["report"])
    if not totals.wants_overall(w, rep):
        return result
    why = totals.problem(w, rep)
    if why:
        raise InvalidInput(*why)
    raw, key = totals.overall_definition(w, rep)
    out = runner.execute(conn, forms, ctx, raw, params, max_scan=max_scan, draft=True)
    col = next(c for c in result["columns"] if c["key"] == w["value"])
    for r in out["rows"]:
        r[w["value"]] = r.get(key)
    out["columns"] = [*(c for c in out["columns"] if c["key"] != w["value"]), col]   # labelled as in the report
    return out


# ---------------------------------------------------------------------- ECharts options
def _col_label(result: Mapping[str, Any], key: str) -> str:
    c = next((c for c in result["columns"] if c["key"] == key), None)
    return (c["label"].get("zh-CN") if c else None) or key


def _col_labels(result: Mapping[str, Any], key: str) -> dict[str, str]:
    c = next((c for c in result["columns"] if c["key"] == key), None)
    return text_of(c["label"] if c else None, key)


def _display(result: Mapping[str, Any], key: str, v: Any) -> Any:
    c = next((c for c in result["columns"] if c["key"] == key), None)
    if c and c.get("options") and str(v) in c["options"]:
        return c["options"][str(v)].get("zh-CN") or v
    return "—" if v is None else v


def render(w: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
    t = w["type"]
    rows = result["rows"]
    if t == "table":
        return {"columns": result["columns"], "rows": rows, "truncated": result["truncated"]}
    if t == "kpi":
        v = rows[-1].get(w["value"]) if rows else None
        target = w.get("target")
        out: dict[str, Any] = {"value": v, "target": target, "label": _col_label(result, w["value"]),
                               "label_i18n": _col_labels(result, w["value"])}
        if w.get("unit"):
            out["unit"] = text_of(w["unit"])
        fmt = next((c.get("format") for c in result["columns"] if c["key"] == w["value"]), None)
        if fmt:
            out["format"] = fmt
        if target is not None and v is not None:
            good = v >= target if w.get("higher_is_better", True) else v <= target
            out["status"] = "ok" if good else "bad"
        if w.get("trend"):
            out["trend"] = [{"x": r.get(w["trend"]), "y": r.get(w["value"])} for r in rows]
            if len(out["trend"]) >= 2 and out["trend"][-2]["y"] is not None and v is not None:
                out["change"] = v - out["trend"][-2]["y"]
        return out
    if t == "gauge":
        v = rows[-1].get(w["value"]) if rows else None
        return {"value": v, "option": {"series": [{"type": "gauge", "min": w.get("min", 0), "max": w.get("max", 100),
                                                   "data": [{"value": v, "name": _col_label(result, w["value"])}]}]}}
    if t in ("line", "bar", "stacked_bar"):
        x = w["x"]
        cats = []
        for r in rows:
            d = _display(result, x, r.get(x))
            if d not in cats:
                cats.append(d)
        series = []
        kind = "line" if t == "line" else "bar"
        if w.get("series"):
            y = w["y"][0]
            groups: dict[Any, dict[Any, Any]] = {}
            for r in rows:
                groups.setdefault(_display(result, w["series"], r.get(w["series"])), {})[_display(result, x, r.get(x))] = r.get(y)
            for name, vals in groups.items():
                s = {"name": str(name), "type": kind, "data": [vals.get(c) for c in cats]}
                if t == "stacked_bar":
                    s["stack"] = "total"
                series.append(s)
        else:
            for y in w["y"]:
                s = {"name": _col_label(result, y), "type": kind, "data": [r.get(y) for r in rows]}
                if t == "stacked_bar":
                    s["stack"] = "total"
                series.append(s)
        option = {"tooltip": {"trigger": "axis"}, "legend": {"data": [s["name"] for s in series]},
                  "xAxis": {"type": "category", "data": [str(c) for c in cats]}, "yAxis": {"type": "value"}, "series": series}
        if w.get("target") is not None and series:
            series[0]["markLine"] = {"data": [{"yAxis": w["target"], "name": "目标"}]}
        return {"option": widgets.value_labels(t, option)}
    if t == "pie":
        data = [{"name": str(_display(result, w["x"], r.get(w["x"]))), "value": r.get(w["value"])} for r in rows]
        return {"option": widgets.value_labels(t, {"series": [{"type": "pie", "radius": "50%", "center": ["50%", "45%"], "data": data}]})}
    if t == "scatter":
        pts = [[r.get(w["x"]), r.get(w["y"][0])] for r in rows]
        return {"option": {"xAxis": {"type": "value", "name": _col_label(result, w["x"])},
                           "yAxis": {"type": "value", "name": _col_label(result, w["y"][0])},
                           "series": [{"type": "scatter", "data": pts}]}}
    if t == "pareto":
        items = spc.pareto([(_display(result, w["x"], r.get(w["x"])), r.get(w["value"])) for r in rows], top=w.get("top"))
        cats = [str(i["category"]) for i in items]
        return {"pareto": items, "option": widgets.value_labels(t, {
            "tooltip": {"trigger": "axis"}, "legend": {"data": [_col_label(result, w["value"]), "累计%"]},
            "xAxis": {"type": "category", "data": cats},
            "yAxis": [{"type": "value", "name": _col_label(result, w["value"])},
                      {"type": "value", "name": "%", "min": 0, "max": 100}],
            "series": [{"name": _col_label(result, w["value"]), "type": "bar", "data": [i["value"] for i in items]},
                       {"name": "累计%", "type": "line", "yAxisIndex": 1,
                        "data": [round(i["cumulative_percent"], 2) for i in items],
                        # the 80 % line's label inside the plot, above the line's end (at the end it met the axis text: 「80)」)
                        "markLine": {"symbol": "none", "lineStyle": {"type": "dashed"},
                                     "label": {"position": "insideEndTop", "formatter": "80%"},
                                     "data": [{"yAxis": 80}]}}]})}
    if t == "control_chart":
        return control_chart(w, result)
    if t == "gantt":
        return gantt(w, result)
    raise ValueError(t)  # pragma: no cover - the schema lists the types


def control_chart(w: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
    """Values in report order; consecutive rows with the same ``subgroup`` value form one subgroup
    (see engines/reports/spc/report.py)."""
    return spc_report.control_chart(w, result)


def gantt(w: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
    """Bars from start to end per category (stacked-bar form: a transparent offset, then the duration)."""
    def ms(v: Any) -> float | None:
        if v is None:
            return None
        d = dt.datetime.fromisoformat(str(v))
        if d.tzinfo is None:
            d = d.replace(tzinfo=dt.timezone.utc)
        return d.timestamp() * 1000

    rows = [r for r in result["rows"] if r.get(w["start"]) and r.get(w["end"])]
    cats = [str(_display(result, w["category"], r.get(w["category"]))) for r in rows]
    starts = [ms(r[w["start"]]) for r in rows]
    ends = [ms(r[w["end"]]) for r in rows]
    t0 = min(starts) if starts else 0
    items = [{"category": c, "start": r[w["start"]], "end": r[w["end"]]} for c, r in zip(cats, rows)]
    return {"items": items, "option": {
        "tooltip": {"trigger": "item"}, "yAxis": {"type": "category", "data": cats, "inverse": True},
        "xAxis": {"type": "value", "min": 0, "name": "ms since " + (str(rows[0][w["start"]]) if rows else "")},
        "series": [{"type": "bar", "stack": "g", "itemStyle": {"color": "transparent"}, "data": [s - t0 for s in starts]},
                   {"type": "bar", "stack": "g", "data": [e - s for s, e in zip(starts, ends)]}]}}
