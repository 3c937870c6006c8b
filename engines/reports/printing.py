"""Print templates: Jinja2 in a sandboxed environment (no attribute access to internals, no file or
module access; output, sizes, loops and time bounded — engines/expressions/templates.py), bound to a form record or a report result, producing print-ready
HTML with page size, QR codes (segno) and barcodes (python-barcode) as inline SVG, and Chinese fonts.

PDF: WeasyPrint renders the same HTML (it implements CSS paged media — @page size and margins —
itself, needs only Pango from the OS, and embeds the fonts it finds, so a Chinese font such as
WenQuanYi or Noto CJK must be installed). Chosen over driving a headless browser: no browser process
per print, deterministic output, and it runs inside the worker as plain Python.
"""
from __future__ import annotations

import datetime as dt
import html
import io
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, pass_context
from markupsafe import Markup
from sqlalchemy.engine import Connection

from mom.engines.expressions.templates import BoundedEnvironment, TemplateLimit, TemplateLimits, render_bounded, template_line
from mom.engines.forms.model import text_of
from mom.engines.records.context import Ctx
from mom.engines.records import query as record_query
from mom.engines.records import service as records
from mom.engines.reports import service as report_service
from mom.engines.reports import store
from mom.platform.errors import AccessDenied, InsufficientScope, InvalidInput, MomError, NotFound, Problem, ProblemList, TooLarge

KIND = "print_template"
PAPERS = {"A4": (210, 297), "A5": (148, 210), "A3": (297, 420), "label_100x50": (100, 50), "label_60x40": (60, 40),
          "label_50x30": (50, 30)}
FONTS = ('"Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", '
         '"SimSun", sans-serif')
PUBLISH_SECONDS = 2.0   # the trial render at publish stops sooner than a real one


def _texts(defn: Any, doc: Mapping[str, Any]) -> dict[str, Any]:
    """What a person reads for each field (``{{ text.result }}``): option labels in zh-CN for selects,
    the display text of references, the value itself otherwise."""
    shown = doc.get("_display") or {}
    out: dict[str, Any] = {}
    for f in defn.fields:
        v = doc.get(f.key)
        if f.key in shown:
            out[f.key] = shown[f.key]
        elif f.option_labels and isinstance(v, list):
            out[f.key] = "、".join(f.option_labels.get(x, {}).get("zh-CN", x) for x in v)
        elif f.option_labels and v is not None:
            out[f.key] = f.option_labels.get(v, {}).get("zh-CN", v)
        else:
            out[f.key] = v
    return out


def qr_svg(value: Any, size_mm: float = 20, error: str = "m") -> Markup:
    import segno
    q = segno.make(str(value), error=error, micro=False)
    buf = io.BytesIO()
    q.save(buf, kind="svg", xmldecl=False, svgns=True, nl=False, border=1, scale=1)
    svg = buf.getvalue().decode()
    # a viewBox makes the modules scale with the size asked for (without one the code stays a few
    # pixels wide in a 30 mm box and cannot be scanned)
    n = q.symbol_size(scale=1, border=1)[0]
    svg = svg.replace("<svg ", f'<svg viewBox="0 0 {n} {n}" style="width:{float(size_mm)}mm;height:{float(size_mm)}mm" '
                               'shape-rendering="crispEdges" ', 1)
    return Markup(svg)


def barcode_svg(value: Any, kind: str = "code128", height_mm: float = 10, text: bool = True) -> Markup:
    import barcode
    from barcode.writer import SVGWriter
    try:
        cls = barcode.get_barcode_class(kind)
    except barcode.errors.BarcodeNotFoundError:
        raise ValueError(f"unknown barcode type {kind}") from None
    buf = io.BytesIO()
    cls(str(value), writer=SVGWriter()).write(buf, options={"module_height": float(height_mm), "write_text": bool(text),
                                                            "font_size": 8, "text_distance": 3, "quiet_zone": 2})
    svg = buf.getvalue().decode()
    start = svg.find("<svg")
    return Markup(svg[start:] if start >= 0 else svg)


@pass_context
def _fmt_date(context: Any, v: Any, pattern: str = "%Y-%m-%d") -> str:
    """A date or date-time as ``pattern``; a date-time with its zone (records carry UTC) in the plant's
    zone, the zone of ``now``."""
    if v is None or v == "":
        return ""
    if isinstance(v, str):
        try:
            v = dt.datetime.fromisoformat(v) if len(v) > 10 else dt.date.fromisoformat(v)
        except ValueError:
            return v
    zone = getattr(context.get("now"), "tzinfo", None)
    if isinstance(v, dt.datetime) and v.tzinfo is not None and zone is not None:
        v = v.astimezone(zone)
    return v.strftime(pattern)


def _fmt_num(v: Any, decimals: int = 2) -> str:
    if v is None or v == "":
        return ""
    try:
        return f"{float(v):,.{int(decimals)}f}"
    except (TypeError, ValueError):
        return str(v)


def environment() -> BoundedEnvironment:
    env = BoundedEnvironment(autoescape=True, undefined=StrictUndefined)
    env.add_filters(qr=qr_svg, barcode=barcode_svg, date=_fmt_date, number=_fmt_num)   # arguments bounded
    env.globals.update(qr=env.filters["qr"], barcode=env.filters["barcode"])
    return env


_ENV = environment()


def compile_template(source: str, path: str = "/template") -> Any:
    try:
        return _ENV.from_string(source)
    except (TemplateError, SyntaxError, RecursionError, MemoryError, TemplateLimit) as exc:
        # SyntaxError / RecursionError: nesting too deep for Python to compile the template
        line = getattr(exc, "lineno", None)
        raise InvalidInput(f"模板语法错误{f'（第 {line} 行）' if line else ''}：{exc}",
                           f"template syntax error{f' (line {line})' if line else ''}: {exc}",
                           problems=[Problem(path, f"模板语法错误：{exc}", f"template syntax error: {exc}", "template")]) from None


RELATED_LIMIT = 100          # rows of a related section unless the template says (at most record_query.MAX_LIMIT)


def _order_keys(spec: Mapping[str, Any]) -> list[str]:
    return [p.strip().lstrip("+-") for p in str(spec.get("order_by") or "").split(",") if p.strip()]


def check_related(conn: Connection, forms: Any, raw: Mapping[str, Any]) -> None:
    """Each ``related`` section names a form, a reference field of it (``by``) that points at the
    template's form, and fields to sort on that the form has; all problems at once."""
    problems = ProblemList()
    for key, spec in (raw.get("related") or {}).items():
        at = f"/related/{key}"
        try:
            target = forms.get(conn, spec["form"]).definition
        except NotFound:
            problems.add(f"{at}/form", f"没有表单 {spec['form']}", f"no form {spec['form']}", "unknown_form")
            continue
        by = target.field(spec["by"])
        if by is None or by.type != "reference" or by.raw.get("form") != raw.get("form"):
            keys = [f.key for f in target.scalar_fields if f.type == "reference" and f.raw.get("form") == raw.get("form")]
            hint_zh = f"可用：{'、'.join(keys)}" if keys else f"表单 {spec['form']} 没有引用 {raw.get('form')} 的字段"
            hint_en = f"use one of {', '.join(keys)}" if keys else f"form {spec['form']} has no reference to {raw.get('form')}"
            problems.add(f"{at}/by", f"by 应为表单 {spec['form']} 中引用本模板表单 {raw.get('form')} 的字段；{hint_zh}",
                         f"by must be a field of {spec['form']} that references this template's form {raw.get('form')}; {hint_en}",
                         "related")
        for k in _order_keys(spec):
            if k not in record_query.SORTABLE_SYSTEM and target.field(k) is None:
                problems.add(f"{at}/order_by", f"表单 {spec['form']} 没有字段 {k}", f"form {spec['form']} has no field {k}",
                             "unknown_field")
    problems.raise_if_any("打印模板的关联记录定义有误", "the print template's related records are invalid")


def read_related(conn: Connection, forms: Any, ctx: Ctx, raw: Mapping[str, Any], record_id: int) -> dict[str, list[Any]]:
    """The records each ``related`` section names, read as the printing user may read them: rows
    outside their row scope are not there, fields hidden from them are absent, and a form they may not
    read (or a reference field hidden from them) gives an empty section, not an error. Each row is
    ``{"record": …, "text": …}`` like the template's own record; at most ``limit`` rows."""
    out: dict[str, list[Any]] = {}
    for key, spec in (raw.get("related") or {}).items():
        try:
            page = record_query.list_records(
                conn=conn, registry=forms, ctx=ctx, form=spec["form"],
                filters=[record_query.Filter(spec["by"], "eq", record_id)], sort=spec.get("order_by") or None,
                limit=min(int(spec.get("limit") or RELATED_LIMIT), record_query.MAX_LIMIT), expand_children=False)
        except (AccessDenied, InsufficientScope, NotFound, InvalidInput):
            out[key] = []
            continue
        defn = forms.get(conn, spec["form"]).definition
        out[key] = [{"record": doc, "text": _texts(defn, doc)} for doc in page["items"]]
    return out


class _Sample(dict):  # type: ignore[type-arg]
    """Stand-in data for the trial render at publish: every key reads as empty."""

    def __missing__(self, key: str) -> None:
        return None


def _sample_names(conn: Connection, forms: Any, raw: Mapping[str, Any]) -> dict[str, Any]:
    names: dict[str, Any] = {"now": dt.datetime.now(dt.timezone.utc), "user": _Sample(id=0, username=""),
                             "template": _Sample(name=raw["name"], label=text_of(raw.get("label") or raw["name"]))}
    if raw.get("form"):
        defn = forms.get(conn, raw["form"]).definition
        record = _Sample({f.key: ([_Sample()] if f.is_table else None) for f in defn.fields}, id=0)
        names.update(record=record, text=_Sample(), form=_Sample(name=defn.name, label=dict(defn.label),
                                                                 fields={f.key: dict(f.label) for f in defn.fields}))
        names["related"] = {key: [_Sample(record=_Sample(id=0), text=_Sample())] for key in raw.get("related") or {}}
    else:
        store.get(conn, "report", raw["report"])
        names.update(report=_Sample(rows=[_Sample()], columns=[]), rows=[_Sample()], columns=[])
    return names


def _limit_error(exc: TemplateLimit, where: str = "/template") -> MomError:
    """A limit reached: 413 for sizes, 422 for time and loop steps; the template line named."""
    at_zh, at_en = (f"（第 {exc.line} 行）", f" (line {exc.line})") if exc.line else ("", "")
    if exc.kind == "argument":     # a filter's argument out of its range (round's places, tojson's indent …)
        zh, en = f"打印模板{at_zh}：{exc.zh}；请改正这个参数", f"print template{at_en}: {exc.en}; correct this argument"
    else:
        zh, en = f"打印模板{at_zh}：{exc.zh}；请缩小输出或循环", f"print template{at_en}: {exc.en}; make the output or the loops smaller"
    problems = [Problem(where, f"{exc.zh}{at_zh}", f"{exc.en}{at_en}", "template_limit")]
    cls = TooLarge if exc.kind == "too_large" else InvalidInput
    return cls(zh, en, problems=problems, detail={"line": exc.line} if exc.line else None)


def check_limits(tpl: Any, names: Mapping[str, Any], limits: TemplateLimits) -> None:
    """Render once on stand-in data: a template that goes past a limit even so can never print and is
    refused now (errors that depend on the data are left for the real render)."""
    try:
        render_bounded(tpl, names, TemplateLimits(**{**limits.__dict__, "max_seconds": min(limits.max_seconds, PUBLISH_SECONDS)}))
    except TemplateLimit as exc:
        raise _limit_error(exc) from None
    except Exception:   # noqa: BLE001 - stand-in data: a data-dependent failure is not a reason to refuse
        pass


def validate(conn: Connection, forms: Any, raw: Any, *, limits: TemplateLimits | None = None, **_: Any) -> dict[str, Any]:
    problems = ProblemList()
    store.check_shape(KIND, raw, problems)
    check_related(conn, forms, raw)
    tpl = compile_template(raw["template"])
    check_limits(tpl, _sample_names(conn, forms, raw), limits or TemplateLimits())
    return {"name": raw["name"]}


def apply(conn: Connection, forms: Any, raw: Any, *, now: dt.datetime, actor_id: int | None,
          limits: TemplateLimits | None = None, **_: Any) -> dict[str, Any]:
    validate(conn, forms, raw, limits=limits)
    return store.apply(conn, KIND, raw, now=now, actor_id=actor_id, source=raw.get("form") or raw.get("report"))


def page_css(raw: Mapping[str, Any]) -> str:
    paper = raw.get("paper", "A4")
    w, h = (paper["width_mm"], paper["height_mm"]) if isinstance(paper, Mapping) else PAPERS[paper]
    if raw.get("orientation") == "landscape":
        w, h = max(w, h), min(w, h)
    margin = raw.get("margin_mm", 10 if min(w, h) >= 100 else 2)
    return (f"@page {{ size: {w}mm {h}mm; margin: {margin}mm; }}\n"
            f"html, body {{ font-family: {FONTS}; font-size: {'10pt' if min(w, h) >= 100 else '7pt'}; margin: 0; }}\n"
            "table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid #333; padding: 2px 4px; }\n"
            ".page-break { page-break-after: always; }\n")


def render(conn: Connection, forms: Any, ctx: Ctx, name: str, *, record_id: int | None = None,
           params: Mapping[str, Any] | None = None, limits: TemplateLimits | None = None) -> str:
    """The template ``name`` filled with a record (form-bound) or a report result (report-bound),
    within ``limits`` (TooLarge / InvalidInput naming the template line when one is reached)."""
    raw, _ = store.get(conn, KIND, name)
    store.require_use(KIND, raw, ctx.actor)
    names: dict[str, Any] = {"now": ctx.now.astimezone(ctx.tz), "user": {"id": ctx.actor.id, "username": ctx.actor.username},
                             "template": {"name": name, "label": text_of(raw.get("label") or name)}}
    if raw.get("form"):
        if record_id is None:
            raise InvalidInput("表单打印模板需要记录 id", "a form print template needs a record id",
                               problems=[Problem("/record_id", "缺少记录 id", "record id missing", "required")])
        doc = records.get_record(conn=conn, registry=forms, ctx=ctx, form=raw["form"], record_id=record_id)
        compiled = forms.get(conn, raw["form"])
        names.update(record=doc, text=_texts(compiled.definition, doc),
                     form={"name": compiled.name, "label": dict(compiled.definition.label),
                           "fields": {f.key: dict(f.label) for f in compiled.definition.fields}},
                     related=read_related(conn, forms, ctx, raw, int(doc["id"])))
    else:
        result = report_service.run(conn, forms, ctx, raw["report"], params or {})
        names.update(report=result, rows=result["rows"], columns=result["columns"])
    tpl = compile_template(raw["template"])
    try:
        body = render_bounded(tpl, names, limits or TemplateLimits())
    except TemplateLimit as exc:
        raise _limit_error(exc) from None
    except MomError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the template's own code raised is the template's error
        line = template_line(exc)
        at_zh, at_en = (f"（第 {line} 行）", f" (line {line})") if line else ("", "")
        raise InvalidInput(f"模板渲染失败{at_zh}：{exc}", f"the template failed to render{at_en}: {exc}",
                           problems=[Problem("/template", f"{exc}{at_zh}", f"{exc}{at_en}", "template")],
                           detail={"line": line} if line else None) from None
    title = html.escape(text_of(raw.get("label") or name)["zh-CN"])
    return (f"<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<style>{page_css(raw)}{raw.get('css', '')}</style></head><body>{body}</body></html>")


def to_pdf(page: str) -> bytes:
    try:
        import weasyprint
    except (ImportError, OSError) as exc:   # OSError: Pango missing from the OS
        raise InvalidInput("此服务器不能生成 PDF（需要 WeasyPrint 与 Pango）；请用浏览器打印 HTML",
                           f"this server cannot make PDFs (WeasyPrint and Pango are needed: {exc}); print the HTML from a browser") from None
    return weasyprint.HTML(string=page).write_pdf()
