"""A control chart from a report's rows (dashboard widget, GET /api/reports/{name}/spc, ``mom report run --spc``).

Rows are taken in report order; consecutive rows with the same ``subgroup`` value form one subgroup. A chart
is never drawn on part of the data: a report cut at its row limit is re-read up to ``MAX_ROWS`` rows, and
past that the chart is refused in words. Missing readings are skipped and named in ``spc.notes``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mom.engines.reports.spc.attributes import c_chart, np_chart, p_chart, u_chart
from mom.engines.reports.spc.capability import capability
from mom.engines.reports.spc.errors import SpcError
from mom.engines.reports.spc.timeweighted import cusum, ewma
from mom.engines.reports.spc.variables import i_mr, xbar_r, xbar_s

MAX_ROWS = 200_000
CHARTS = ("xbar_r", "xbar_s", "i_mr", "p", "np", "c", "u", "ewma", "cusum")


def refuse_truncated(result: Mapping[str, Any]) -> None:
    if result.get("truncated"):
        n = len(result.get("rows", []))
        raise SpcError(f"报表结果超过 {n:,} 行被截断，控制图不能只画部分数据；请缩小日期范围或增加筛选条件",
                       f"the report was cut at {n:,} rows; a control chart is not drawn on part of the data — "
                       "narrow the date range or add a filter")


def _groups(rows: list[Mapping[str, Any]], key: str, value: str) -> tuple[list[list[Any]], list[str]]:
    groups: list[list[Any]] = []
    labels: list[str] = []
    last: Any = object()
    for r in rows:
        g = r.get(key)
        if g != last:
            groups.append([])
            labels.append(str(g))
            last = g
        groups[-1].append(r.get(value))
    return groups, labels


def _opts(w: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if w.get("exclude"):
        out["exclude"] = {int(k) - 1 if str(k).isdigit() else k: v for k, v in dict(w["exclude"]).items()}
    if w.get("baseline"):
        out["standard"] = w["baseline"]
    return out


def compute(w: Mapping[str, Any], result: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The SPC answer and the point labels. ``exclude`` in a widget counts subgroups from 1."""
    refuse_truncated(result)
    rows = result["rows"]
    kind = w.get("chart") or ("xbar_r" if w.get("subgroup") else "i_mr")
    if kind not in CHARTS:
        raise SpcError(f"未知图类型 {kind}（可用 {'、'.join(CHARTS)}）", f"unknown chart {kind} (use {', '.join(CHARTS)})")
    rules, k = w.get("rules") or "western_electric", float(w.get("k") or 3)
    value = w["value"]
    values = [r.get(value) for r in rows]
    labels = [str(i + 1) for i in range(len(rows))]
    if kind in ("xbar_r", "xbar_s"):
        if not w.get("subgroup"):
            raise SpcError("X̄ 图需要 subgroup（子组列）", "an X̄ chart needs a subgroup column")
        groups, labels = _groups(rows, w["subgroup"], value)
        res = (xbar_r if kind == "xbar_r" else xbar_s)(groups, rules=rules, k=k, **_opts(w))
    elif kind == "i_mr":
        res = i_mr(values, rules=rules, k=k, span=int(w.get("span") or 2), **_opts(w))
    elif kind in ("p", "np", "u"):
        if not w.get("size"):
            raise SpcError(f"{kind} 图需要 size（样本量列）", f"a {kind} chart needs a size column (the sample size)")
        sizes = [r.get(w["size"]) for r in rows]
        res = {"p": p_chart, "np": np_chart, "u": u_chart}[kind](values, sizes, rules=rules, k=k, **_opts(w))
    elif kind == "c":
        res = c_chart(values, rules=rules, k=k, **_opts(w))
    elif kind == "ewma":
        res = ewma(values, lam=float(w.get("lambda") or 0.2), L=float(w.get("L") or 3), target=w.get("target"),
                   sigma=(w.get("baseline") or {}).get("sigma"))
    else:
        res = cusum(values, k=float(w.get("cusum_k") or 0.5), h=float(w.get("h") or 5), target=w.get("target"),
                    sigma=(w.get("baseline") or {}).get("sigma"))
    for note in res.get("notes", []):        # name subgroups by their labels, not by position
        if "subgroups" in note and kind in ("xbar_r", "xbar_s"):
            note["subgroups"] = [labels[i - 1] for i in note["subgroups"]]
            note["dropped"] = [labels[i - 1] for i in note["dropped"]]
    plotted = [labels[i] for i in res.get("index", range(len(res["charts"][0]["points"])))]
    lsl, usl = w.get("lsl"), w.get("usl")
    if (lsl is not None or usl is not None) and kind in ("xbar_r", "xbar_s", "i_mr"):
        res["capability"] = capability(values, lsl=lsl, usl=usl, sigma_within=res["sigma_within"],
                                       target=w.get("target"))
    return res, plotted


def control_chart(w: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
    """The widget answer: {"spc": limits, points, violations, notes, capability; "option": an ECharts option}."""
    res, labels = compute(w, result)
    main = res["charts"][0]
    bad = {v["index"] for v in main["violations"]}
    series: list[dict[str, Any]] = [{"name": main["name"], "type": "line",
                                     "data": [{"value": p, "itemStyle": {"color": "#d62728"}} if i in bad else p
                                              for i, p in enumerate(main["points"])]}]
    if main["ucl"] is not None:
        series[0]["markLine"] = {"symbol": "none", "data": [
            {"yAxis": main["ucl"], "name": "UCL", "lineStyle": {"color": "#d62728", "type": "dashed"}},
            {"yAxis": main["center"], "name": "CL", "lineStyle": {"color": "#2ca02c"}},
            {"yAxis": main["lcl"], "name": "LCL", "lineStyle": {"color": "#d62728", "type": "dashed"}}]}
    else:                                   # limits that change per point are drawn as steps
        for name, key, color in (("UCL", "ucl_points", "#d62728"), ("LCL", "lcl_points", "#d62728")):
            series.append({"name": name, "type": "line", "step": "middle", "symbol": "none", "data": main[key],
                           "lineStyle": {"color": color, "type": "dashed"}})
        series.append({"name": "CL", "type": "line", "symbol": "none", "lineStyle": {"color": "#2ca02c"},
                       "data": main["center_points"] if main["center"] is None else [main["center"]] * len(main["points"])})
    option = {"tooltip": {"trigger": "axis"}, "xAxis": {"type": "category", "data": labels},
              "yAxis": {"type": "value", "scale": True}, "series": series}
    return {"spc": res, "option": option}


def as_text(res: Mapping[str, Any], labels: list[str] | None = None) -> str:
    """A plain-text summary for the command line: limits, points, violations, notes and capability."""
    lines = [f"控制图 chart: {res['type']}  子组 subgroups: {res.get('subgroups')}  k = {res.get('k', 3)}"]
    for c in res["charts"]:
        if c["ucl"] is not None:
            lines.append(f"[{c['name']}] CL = {c['center']:.6g}  UCL = {c['ucl']:.6g}  LCL = {c['lcl']:.6g}")
        else:
            lines.append(f"[{c['name']}] 逐点控制限 per-point limits: UCL {min(c['ucl_points']):.6g}..{max(c['ucl_points']):.6g}")
        lines.append("  " + ", ".join(f"{p:.6g}" for p in c["points"][:50]) + (" …" if len(c["points"]) > 50 else ""))
        for v in c["violations"][:50]:
            at = labels[v["index"]] if labels else v["index"] + 1
            lines.append(f"  ! {at}: {v['message']['zh-CN']} / {v['message']['en']}")
    for n in res.get("notes", []):
        lines.append(f"注意 note: {n['zh-CN']} / {n['en']}")
    for e in res.get("excluded", []):
        lines.append(f"已排除 excluded: {e['index'] + 1}: {e['reason']}")
    cap = res.get("capability")
    if cap:
        keys = [k for k in ("Cp", "Cpk", "Cpm", "Pp", "Ppk", "Ppm") if cap.get(k) is not None]
        lines.append("能力 capability: " + "  ".join(f"{k} = {cap[k]:.4g}" for k in keys))
        for name in ("ppm_within", "ppm_overall"):
            if cap.get(name):
                lines.append(f"  {name} = {cap[name]['total']:.4g}")
        for t in cap.get("normality", []):
            lines.append(f"  {t['test']}: p = {t['p_value']:.4g}")
    return "\n".join(lines)
