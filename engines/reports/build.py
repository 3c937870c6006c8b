"""Compile a ``mom.report/1`` definition, for one caller and one set of parameters, into ONE SQL
statement (SQLAlchemy Core), with the caller's permissions inside it.

The work is done in stages, each in its own module:

- :mod:`~mom.engines.reports.spec`: the semantic checks, once per definition version → ``ReportSpec``
  (:mod:`~mom.engines.reports.paths` checks field paths, :mod:`~mom.engines.reports.filters`,
  :mod:`~mom.engines.reports.buckets` and :mod:`~mom.engines.reports.measures` the rest);
- here, per request: the caller may read the source form; the parameter values are parsed;
- :mod:`~mom.engines.reports.assembly`: the spec bound to the caller and the values → ``Built``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.engines.reports.assembly import Built, assemble
from mom.engines.reports.measures import MeasureTable, registry
from mom.engines.reports.params import parse_params
from mom.engines.reports.paths import Binder, BuildError, PathResolver
from mom.engines.reports.spec import ParamsError, report_spec
from mom.platform.errors import AccessDenied, InvalidInput, ProblemList

__all__ = ["Built", "build"]


def build(conn: Connection, forms: Any, ctx: Ctx, raw: Mapping[str, Any], given: Mapping[str, Any] | None = None,
          *, limit: int | None = None, dry: bool = False, summary: Any = None,
          extra: Callable[[Binder], list[Any]] | None = None, measures: MeasureTable | None = None,
          cache: bool = True) -> Built:
    """Compile ``raw`` for ``ctx.actor`` and ``given`` parameters. Raises InvalidInput (all problems
    located) or AccessDenied. ``summary``: read the report's summary table instead of the source
    (see mom.engines.reports.summary); ``extra``: more conditions for the inner select; ``measures``:
    the measure table (default: the one the plug-ins register); ``cache``: keep the checked spec for
    the next run (False for drafts: validate, designer preview)."""
    problems = ProblemList()
    source = forms.get(conn, raw["source"])
    access = form_access(source, ctx.actor)
    if not access.can("read"):
        raise AccessDenied(f"没有查看表单 {source.name} 的权限，不能运行此报表",
                           f"you may not read form {source.name}, so you cannot run this report")
    failed: BuildError | None = None
    try:
        spec, lookup = report_spec(conn, forms, raw, source, measures or registry(), cache=cache)
        defs: list[Mapping[str, Any]] = list(spec.params)
    except BuildError as exc:
        failed, defs = exc, list(exc.defs if exc.defs is not None else raw.get("params", []))
        if isinstance(exc, ParamsError):     # reported with the problems of the values given
            problems.items.extend(exc.problems)
            failed = None
    params = parse_params(defs, given or {}, ctx, conn, problems)
    if dry:                      # validating a definition: missing required values are the caller's to give
        problems.items = [p for p in problems.items if p.code != "required"]
    problems.raise_if_any("报表参数有误", "invalid report parameters")
    if failed is not None:
        raise InvalidInput(failed.zh, failed.en, problems=list(failed.problems)) from None
    paths = PathResolver(source, lookup)
    b = Binder(conn, ctx, source, access, lookup, lambda p, where: spec.paths.get(p) or paths.resolve(p, where), summary)
    try:
        return assemble(b, spec, params, limit, extra)
    except BuildError as exc:
        raise InvalidInput(exc.zh, exc.en, problems=list(exc.problems)) from None
