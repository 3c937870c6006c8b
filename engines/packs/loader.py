"""Definition folders (the future model packs): a ``pack.json`` manifest plus form definitions.

A folder is validated, planned and applied as one unit, in dependency order (references first),
in one transaction; unchanged definitions are skipped by hash, so applying twice is a no-op.

``pack.json``::

    {"format": "mom.pack/1", "name": "demo", "version": "1.0.0",
     "label": {"zh-CN": "演示", "en": "Demo"},
     "forms": ["forms/supplier.json", "forms/iqc_inspection.json"],      # optional: default forms/*.json
     "fixtures": [{"form": "supplier", "file": "fixtures/supplier.csv", "key": "code", "as_user": "optional owner"}]}
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms import store
from mom.engines.forms.definition import validate_form
from mom.engines.forms.plan import Plan
from mom.platform.errors import InvalidInput, MomError, Problem

PACK_FORMAT = "mom.pack/1"


@dataclass
class Bundle:
    root: Path
    manifest: dict[str, Any]
    forms: list[tuple[str, dict[str, Any]]] = field(default_factory=list)   # (file, raw) in dependency order
    workflows: list[tuple[str, Any]] = field(default_factory=list)           # applied after the forms
    rules: list[tuple[str, Any]] = field(default_factory=list)
    reports: list[tuple[str, Any]] = field(default_factory=list)             # after the forms, before dashboards
    dashboards: list[tuple[str, Any]] = field(default_factory=list)
    prints: list[tuple[str, Any]] = field(default_factory=list)


def _read_json(path: Path, problems: list[Problem]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        problems.append(Problem(f"{path.name}", f"JSON 格式错误（第 {exc.lineno} 行第 {exc.colno} 列）：{exc.msg}",
                                f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", "json"))
    except OSError as exc:
        problems.append(Problem(f"{path}", f"无法读取文件：{exc}", f"cannot read file: {exc}", "io"))
    return None


def load(path: str | Path) -> Bundle:
    """Read a definition file or folder; raise InvalidInput listing every problem in every file."""
    root = Path(path)
    problems: list[Problem] = []
    if not root.exists():
        raise InvalidInput(f"路径不存在：{root}", f"no such file or folder: {root}")
    if root.is_file():
        raw = _read_json(root, problems)
        if problems:
            raise InvalidInput("定义文件无法读取", "the definition file cannot be read", problems=problems)
        return Bundle(root.parent, {"name": root.stem}, [(root.name, raw)])
    manifest: dict[str, Any] = {"name": root.name}
    mpath = root / "pack.json"
    if mpath.exists():
        m = _read_json(mpath, problems)
        if isinstance(m, dict):
            manifest = m
            if m.get("format") != PACK_FORMAT:
                problems.append(Problem("pack.json/format", f"应为 {PACK_FORMAT}", f"expected {PACK_FORMAT}", "format"))
    files = [root / f for f in manifest.get("forms", [])] or sorted((root / "forms").glob("*.json")) or sorted(
        p for p in root.glob("*.json") if p.name != "pack.json")
    forms = []
    for f in files:
        raw = _read_json(f, problems)
        if raw is not None:
            forms.append((str(f.relative_to(root)), raw))
    extra: dict[str, list[tuple[str, Any]]] = {"workflows": [], "rules": [], "reports": [], "dashboards": [], "prints": []}
    for kind in extra:
        for f in [root / x for x in manifest.get(kind, [])] or sorted((root / kind).glob("*.json")):
            raw = _read_json(f, problems)
            if raw is not None:
                extra[kind].append((str(f.relative_to(root)), raw))
    if problems:
        raise InvalidInput("定义文件夹中有无法读取的文件", "some files in the folder cannot be read", problems=problems)
    return Bundle(root, manifest, _ordered(forms), extra["workflows"], extra["rules"], extra["reports"],
                  extra["dashboards"], extra["prints"])


def _ordered(forms: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    by_name = {raw.get("name"): (f, raw) for f, raw in forms if isinstance(raw, dict)}
    deps = {}
    for name, (_, raw) in by_name.items():
        refs = set()
        for fld in raw.get("fields", []) if isinstance(raw.get("fields"), list) else []:
            for g in [fld, *(fld.get("fields", []) if isinstance(fld, dict) and isinstance(fld.get("fields"), list) else [])]:
                if isinstance(g, dict) and g.get("type") == "reference" and g.get("form") in by_name and g.get("form") != name:
                    refs.add(g["form"])
        deps[name] = refs
    out: list[tuple[str, Any]] = []
    state: dict[Any, int] = {}

    def visit(n: Any, stack: list[Any]) -> None:
        if state.get(n) == 2:
            return
        if state.get(n) == 1:
            cycle = " -> ".join(map(str, stack[stack.index(n):] + [n]))
            raise InvalidInput(f"表单之间循环引用：{cycle}；请去掉其中一个引用", f"forms reference each other in a cycle: {cycle}; remove one reference")
        state[n] = 1
        for d in sorted(deps[n]):
            visit(d, stack + [n])
        state[n] = 2
        out.append(by_name[n])

    for n in by_name:
        visit(n, [])
    out.extend((f, raw) for f, raw in forms if not isinstance(raw, dict))
    return out


def validate(conn: Connection | None, bundle: Bundle) -> None:
    known = store.known_forms(conn) if conn is not None else {}
    known.update({raw.get("name"): raw for _, raw in bundle.forms if isinstance(raw, dict)})
    problems: list[Problem] = []
    for file, raw in bundle.forms:
        try:
            validate_form(raw, known_forms=known)
        except MomError as exc:
            problems.extend(exc.problems_in(file))
    if problems:
        raise InvalidInput(f"{len(problems)} 处错误", f"{len(problems)} problem(s)", problems=problems)


def plan(conn: Connection, bundle: Bundle) -> list[Plan]:
    """Plans for every form, in order; later forms see earlier (not yet applied) ones as known."""
    validate(conn, bundle)
    extra = {raw["name"]: raw for _, raw in bundle.forms}
    return [store.plan_form(conn, raw, extra_known=extra)[1] for _, raw in bundle.forms]


def apply_automation(conn: Connection, bundle: Bundle, forms: Any, *, now: Any, tz: Any,
                     actor_id: int | None = None) -> list[str]:
    """Publish the pack's workflows, event rules, reports, dashboards and print templates (after its
    forms); unchanged ones are skipped."""
    from mom.engines.reports import dashboard, printing, service as reports
    from mom.engines.workflow import rules, store as flows
    from mom.platform.auth.service import ensure_role

    for role in bundle.manifest.get("roles", []):   # roles the pack's flows and permissions name
        ensure_role(conn, role["name"], role.get("label"))
    out, problems = [], []
    appliers = {
        "workflow": lambda raw: flows.apply(conn, forms, raw, actor_id=actor_id),
        "rule": lambda raw: rules.apply_rule(conn, forms, raw, now=now, tz=tz),
        "report": lambda raw: reports.apply(conn, forms, raw, now=now, tz=tz, actor_id=actor_id),
        "dashboard": lambda raw: dashboard.apply(conn, forms, raw, now=now, tz=tz, actor_id=actor_id),
        "print template": lambda raw: printing.apply(conn, forms, raw, now=now, actor_id=actor_id),
    }
    for kind, items in (("workflow", bundle.workflows), ("rule", bundle.rules), ("report", bundle.reports),
                        ("dashboard", bundle.dashboards), ("print template", bundle.prints)):
        for file, raw in items:
            try:
                res = appliers[kind](raw)
            except MomError as exc:
                problems.extend(exc.problems_in(file))
                continue
            out.append(f"{kind} {res['name']}: v{res['version']}{'' if res['changed'] else '（未变 / unchanged）'}")
    if problems:
        raise InvalidInput(f"{len(problems)} 处错误", f"{len(problems)} problem(s)", problems=problems)
    record_pack(conn, bundle, now)
    return out


def record_pack(conn: Connection, bundle: Bundle, now: Any) -> None:
    """Remember an installed pack (a folder with pack.json) and its menu: the web app groups by it."""
    m = bundle.manifest
    if m.get("format") != PACK_FORMAT or not isinstance(m.get("name"), str):
        return
    from mom.platform.db import tables as T

    def names(items: list[tuple[str, Any]]) -> list[str]:
        return [raw["name"] for _, raw in items if isinstance(raw, dict) and isinstance(raw.get("name"), str)]

    menu = {"label": m.get("label") or m["name"], "forms": names(bundle.forms), "reports": names(bundle.reports),
            "dashboards": names(bundle.dashboards)}
    digest = hashlib.sha256(json.dumps(m, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    values = {"version": str(m.get("version", "0")), "manifest_hash": digest, "installed_at": now, "menu": menu}
    old = conn.execute(sa.select(T.pack.c.manifest_hash, T.pack.c.menu).where(T.pack.c.name == m["name"])).first()
    if old is not None and old.manifest_hash == digest and old.menu == menu:
        return   # applying the same pack again changes nothing
    if old is not None:
        conn.execute(T.pack.update().where(T.pack.c.name == m["name"]).values(**values))
    else:
        conn.execute(T.pack.insert().values(name=m["name"], **values))


def apply(conn: Connection, bundle: Bundle, *, actor_id: int | None = None) -> list[Plan]:
    validate(conn, bundle)
    out = []
    for _, raw in bundle.forms:
        plan_, _ = store.publish(conn, raw, actor_id=actor_id)
        out.append(plan_)
    return out
