"""The pack manager: list, show, plan, install, upgrade, uninstall (and purge) model packs.

Plan first: ``plan`` decides every definition (``planner``), then rehearses the whole change in a
transaction that is rolled back, so the plan shown is one that applies (the forms' column changes,
a workflow that no longer validates against a merged form, a fixture row that fails — all found
before anything is written). ``execute`` decides again inside one write transaction, refuses if
the decisions differ from the plan that was confirmed (its hash), and applies everything — the
per-version migrations, the definitions, the retirements, the master data, the pack's row and what it
owns — or nothing.

A pack is code when it carries ``hooks.py`` or migrations: install only packs you trust.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mom.engines.packs import catalog, checksums, formwords, loader, migrations, notes, state
from mom.engines.packs.exporter import export  # noqa: F401  (part of the manager's API)
from mom.engines.packs import steps as pack_steps
from mom.engines.packs.manifest import parse_version
from mom.engines.packs.planner import (SHARED, SWITCHED, ItemDecision, PackPlan, PackWork, decide, decide_customisations, decide_uninstall,
                                      handovers, label_of, words)
from mom.platform.db import tables as T
from mom.platform.db.engine import is_postgres, read_tx, trial_tx, write_tx
from mom.platform.errors import Conflict, InvalidInput, MomError, NotFound, Problem

FormsFactory = Callable[[], Any]
ACTIONS = ("install", "upgrade", "uninstall")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# ---------------------------------------------------------------- what there is
def available(conn: Connection, *, settings: Any = None) -> list[dict[str, Any]]:
    """Every pack found (built in, on MOM_PACK_PATH, uploaded) or known to the database, by name."""
    rows = state.packs(conn)
    best: dict[str, Any] = {}
    for src in catalog.all_sources(settings, installed_sources=_sources(rows)):
        if src.name not in best or src.version > best[src.name].version:
            best[src.name] = src
    return [_summary(name, best.get(name), rows.get(name)) for name in sorted(set(best) | set(rows))]


def _sources(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The folders the database's packs were installed from: found by name even off the catalogue."""
    return {n: r.get("source") for n, r in rows.items() if r.get("source")}


def _summary(name: str, src: Any, row: dict[str, Any] | None) -> dict[str, Any]:
    label = (row or {}).get("label") or (src.manifest.get("label") if src else None) or name
    status = row["status"] if row else "available"
    upgradable = bool(row and src and row["status"] == state.INSTALLED and src.version > parse_version(row["version"]))
    files = _files(src, row)
    return {"name": name, "label": label_of({"label": label}, name), "version": str(src.version) if src else None,
            "installed_version": row["version"] if row and row["status"] == state.INSTALLED else None,
            "last_version": row["version"] if row else None,          # an uninstalled pack: the version it had
            "status": status, "source": (row or {}).get("source") or (str(src.root) if src else None),
            "available_source": str(src.root) if src else None,
            "origin": src.origin if src else None,
            "depends": (src.manifest.get("depends") if src else (row or {}).get("depends")) or {},
            "upgradable": upgradable, "modified_files": sum(len(v) for v in files.values()),
            "has_demo": bool(src and src.manifest.get("demo")),
            "installed_at": row["installed_at"] if row else None, "upgraded_at": row.get("upgraded_at") if row else None}


def _files(src: Any, row: dict[str, Any] | None) -> dict[str, list[str]]:
    """Files changed against the pack's own CHECKSUMS.sha256 and, for the folder it was installed
    from, against what was installed (so a file changed together with the checksum list still shows)."""
    out: dict[str, set[str]] = {"modified": set(), "missing": set(), "added": set()}
    if src is None:
        return {k: [] for k in out}
    expected = checksums.read(src.root)
    if expected is not None:
        for k, v in checksums.modified(src.root, expected).items():
            out[k] |= set(v)
    if (row and row.get("checksums") and str(Path(src.root).resolve()) == row.get("source")
            and str(src.version) == row.get("version")):     # the same version as installed: its files should not have changed
        for k, v in checksums.modified(src.root, {f: h for f, h in row["checksums"].items() if f != "CHECKSUMS.sha256"}).items():
            out[k] |= set(v) - {"CHECKSUMS.sha256"}
    return {k: sorted(v) for k, v in out.items()}


def show(conn: Connection, name: str, *, settings: Any = None) -> dict[str, Any]:
    """One pack: its summary, what it installed (customised by the plant? retired?) and changed files."""
    rows = state.packs(conn)
    try:
        src = catalog.find(name, settings, installed_sources=_sources(rows))
    except NotFound:
        src = None
    if src is None and name not in rows:
        known = sorted({s.name for s in catalog.all_sources(settings)} | set(rows))
        from mom.platform.errors import did_you_mean

        raise NotFound(f"没有名为 {name} 的模型包{did_you_mean(name, known)}", f"no pack named {name}{did_you_mean(name, known)}")
    out = _summary(name, src, rows.get(name))
    items = []
    for r in state.items_of(conn, name):
        step = next((s for s in pack_steps.registered() if s.key == r["kind"]), None)
        live_fn = getattr(step, "live", None) if step else None
        found = live_fn(conn, r["name"]) if live_fn is not None else None
        from mom.engines.definitions.identity import definition_hash

        customised = found is not None and isinstance(found[0], dict) and definition_hash(found[0]) != r["base_hash"]
        lab = getattr(step, "label", None) or {}
        items.append({"kind": r["kind"], "kind_label": words(lab.get("zh-CN", r["kind"]), lab.get("en", r["kind"])),
                      "name": r["name"], "label": label_of(found[0] if found else r["base"], r["name"]),
                      "customised": customised, "retired": bool(found and found[1]), "missing": found is None and live_fn is not None})
    out["items"] = items
    out["files"] = _files(src, rows.get(name))
    if src is not None:
        out["description"] = src.manifest.get("description")
    return out


# ---------------------------------------------------------------- the plan
def decide_plan(conn: Connection, action: str, target: str, *, demo: bool = False, purge: bool = False,
                settings: Any = None) -> PackPlan:
    """The decisions (no rehearsal): what ``plan`` shows and ``execute`` re-checks."""
    if action not in ACTIONS:
        raise InvalidInput(f"未知的操作 {action!r}：可用 install、upgrade、uninstall", f"unknown action {action!r}: use install, upgrade or uninstall")
    rows = state.packs(conn)
    if action == "uninstall":
        return _plan_uninstall(conn, target, rows, purge)
    src = catalog.find(target, settings, installed_sources=_sources(rows))
    row = rows.get(src.name)
    from_v = row["version"] if row else None
    p = PackPlan(action, src.name, label_of(src.manifest, src.name), from_v, str(src.version), demo=demo)
    if action == "upgrade" and row is None:
        p.reasons.append(words(f"模型包 {src.name} 还没有安装：请用“安装”", f"pack {src.name} is not installed: install it"))
        return p
    if row is not None and src.version < parse_version(row["version"]):
        p.reasons.append(words(f"不能把模型包 {src.name} 从 {row['version']} 降级到 {src.version}：请上传或指定 {row['version']} 或更新的版本",
                               f"pack {src.name} cannot go down from {row['version']} to {src.version}: upload or name version "
                               f"{row['version']} or newer"))
        return p
    if len(str(Path(src.root).resolve())) > 1000:
        p.reasons.append(words("模型包文件夹的路径太长（超过 1000 个字符）：请把它放到路径短一些的文件夹里",
                               "the pack folder's path is too long (over 1000 characters): move it to a folder with a shorter path"))
        return p
    installed = state.installed_versions(conn)
    owners = state.owners(conn)
    coming: dict[tuple[str, str], Any] = {}
    works = []
    for s in catalog.resolve(src, installed, settings, installed_sources=_sources(rows)):
        r = rows.get(s.name)
        act = "upgrade" if r is not None and r["status"] == state.INSTALLED else "install"
        if s.name != src.name and act == "upgrade":
            continue
        works.append(PackWork(act, s.name, label_of(s.manifest, s.name), r["version"] if r else None, str(s.version),
                              source=s, bundle=loader.load(s.root), demo=demo and s.name == src.name))
    p.handed = handovers(works, owners)
    for work in works:
        decide(conn, work, owners, p)
        decide_customisations(conn, work, owners, coming, p)
        notes.install_notes(conn, work, owners, p)
        coming.update({(d.kind, d.name): d.shipped for d in work.items if not d.overlay})
        p.works.append(work)
    return p


def _plan_uninstall(conn: Connection, name: str, rows: dict[str, dict[str, Any]], purge: bool) -> PackPlan:
    row = rows.get(name)
    if row is None:
        raise NotFound(f"模型包 {name} 没有安装", f"pack {name} is not installed")
    p = PackPlan("uninstall", name, label_of({"label": row.get("label")}, name), row["version"], None, purge=purge)
    live = {n: r for n, r in rows.items() if r["status"] == state.INSTALLED}
    for dep in catalog.dependents(name, live):
        them = label_of({"label": rows[dep].get("label")}, dep)
        p.reasons.append(words(f"模型包「{them['zh-CN']}」（{dep}）依赖「{p.label['zh-CN']}」：请先卸载「{them['zh-CN']}」",
                               f"pack “{them['en']}” ({dep}) depends on “{p.label['en']}”: uninstall “{them['en']}” first"))
    if row["status"] == state.UNINSTALLED and not purge:
        p.warnings.append(words(f"模型包 {name} 已经卸载；要连数据一起删除，请选“同时删除数据”",
                                f"pack {name} is uninstalled already; to delete its data too, choose purge"))
        return p
    work = PackWork("uninstall", name, p.label, row["version"], None, purge=purge)
    decide_uninstall(conn, work)
    notes.uninstall_notes(conn, work, p)
    p.works.append(work)
    _references(conn, name, p)
    return p


def _references(conn: Connection, name: str, p: PackPlan) -> None:
    """A plant's own form that references one of the pack's forms blocks the uninstall."""
    from mom.engines.forms import store

    mine = {r["name"] for r in state.items_of(conn, name) if r["kind"] == "forms"}
    owners = state.owners(conn)
    known = store.known_forms(conn)
    for form, raw in known.items():
        if form in mine or owners.get(("forms", form)) == name:
            continue
        for f in _fields(raw):
            if f.get("type") == "reference" and f.get("form") in mine:
                lab, target = label_of(raw, form), label_of(known.get(f["form"]), f["form"])
                p.reasons.append(words(
                    f"表单「{lab['zh-CN']}」的字段「{label_of(f, f.get('key', ''))['zh-CN']}」引用了本包的表单「{target['zh-CN']}」：先在设计器里删除这个字段，或把它改为文本",
                    f"form “{lab['en']}”, field “{label_of(f, f.get('key', ''))['en']}” references this pack's form “{target['en']}”: "
                    "remove that field in the designer first (or make it text)"))


def _fields(raw: Any) -> list[dict[str, Any]]:
    out = []
    for f in raw.get("fields", []) if isinstance(raw, dict) else []:
        if isinstance(f, dict):
            out.append(f)
            out.extend(g for g in f.get("fields", []) if isinstance(g, dict)) if isinstance(f.get("fields"), list) else None
    return out


def plan(engine: Engine, action: str, target: str, *, forms_factory: FormsFactory, demo: bool = False,
         purge: bool = False, tz: dt.tzinfo = dt.timezone.utc, settings: Any = None) -> PackPlan:
    """Decide, then rehearse in a transaction that is rolled back; the rehearsal's findings (a form's
    column changes, what fails) become the plan's details and reasons. Nothing is written."""
    with read_tx(engine) as conn:
        p = decide_plan(conn, action, target, demo=demo, purge=purge, settings=settings)
    if p.blocked:
        return p
    try:
        with trial_tx(engine) as conn:
            perform(conn, p, forms_factory(), now=_now(), tz=tz)
    except MomError as exc:
        p.failures.append(words(f"试运行失败，未做任何修改：{exc.zh}", f"the rehearsal failed, nothing was changed: {exc.en}"))
        p.failures.extend(words(f"{x.path}：{x.zh}" if x.path else x.zh, f"{x.path}: {x.en}" if x.path else x.en) for x in exc.problems[:20])
    return p


def execute(engine: Engine, confirmed: str | None, action: str, target: str, *, forms_factory: FormsFactory,
            demo: bool = False, purge: bool = False, actor_id: int | None = None,
            tz: dt.tzinfo = dt.timezone.utc, settings: Any = None) -> tuple[PackPlan, list[str]]:
    """Apply the plan whose hash is ``confirmed`` (None: whatever the plan is now — the CLI's --yes) in one
    transaction. A plan that changed since it was shown: ``Conflict`` with the fresh plan; a blocked plan:
    ``Conflict`` with its reasons."""
    with write_tx(engine) as conn:
        if is_postgres(conn):    # one pack change at a time across every node (SQLite: write_tx queues anyway)
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('mom_pack_manager'))"))
        p = decide_plan(conn, action, target, demo=demo, purge=purge, settings=settings)
        if confirmed is not None and confirmed != p.hash:
            raise Conflict("这个计划已经不是最新的（可能已经执行过，或有人改了定义、换了包）：请刷新后重新查看计划再确认",
                           "this plan is no longer current (it may have been applied already, or a definition or the pack "
                           "changed): refresh, review the plan and confirm again", detail={"plan": p.as_dict()})
        if p.blocked:
            raise Conflict("计划被阻止，未做任何修改：" + "；".join(x["zh-CN"] for x in [*p.reasons, *_conflict_words(p)][:5]),
                           "the plan is blocked, nothing was changed: " + "; ".join(x["en"] for x in [*p.reasons, *_conflict_words(p)][:5]),
                           detail={"plan": p.as_dict()})
        lines = perform(conn, p, forms_factory(), now=_now(), tz=tz, actor_id=actor_id)
    return p, lines


def _conflict_words(p: PackPlan) -> list[dict[str, str]]:
    return [words(f"{c['kind_label']['zh-CN']}「{c['label']['zh-CN']}」的 {c['where']['zh-CN']} 两边都改了",
                  f"{c['kind_label']['en']} “{c['label']['en']}”: {c['where']['en']} changed on both sides") for c in p.conflicts]


# ---------------------------------------------------------------- doing it
def perform(conn: Connection, p: PackPlan, forms: Any, *, now: dt.datetime, tz: dt.tzinfo,
            actor_id: int | None = None) -> list[str]:
    """Carry out ``p`` in the caller's transaction; returns the lines to show. Details found on the
    way (a form's column changes) are attached to the plan's items."""
    lines: list[str] = []
    # every upgrade's pre.py runs before anything else of the plan: a definition it hands over to a pack
    # this plan installs (planner.handovers) must be out of the way before that pack installs its own
    for work in p.works:
        if _upgrading(work):
            lines += migrations.run(conn, work.source.root, work.name, work.from_version, work.to_version, "pre", forms=forms, now=now)
    _hand_over(conn, p)
    for work in p.works:
        if work.action == "uninstall":
            lines.extend(_uninstall(conn, work, forms, now=now, tz=tz, actor_id=actor_id))
        else:
            lines.extend(_install(conn, work, forms, now=now, tz=tz, actor_id=actor_id))
    return lines


def _install(conn: Connection, work: PackWork, forms: Any, *, now: dt.datetime, tz: dt.tzinfo,
             actor_id: int | None) -> list[str]:
    bundle = work.bundle
    ctx = pack_steps.PackContext(bundle, conn=conn, forms=forms, now=now, tz=tz, actor_id=actor_id)
    ctx.restore = True
    ctx.fixtures_existing = "skip"
    lines: list[str] = []
    upgrading = _upgrading(work)
    by_kind: dict[str, list[ItemDecision]] = {}
    for d in work.items:
        by_kind.setdefault(d.kind, []).append(d)
    steps = pack_steps.registered(pm=bundle.plugins)
    for step in steps:
        if step.phase == "data":
            continue
        if step.once:
            line = loader.install_item(step, ctx, "pack.json", bundle.manifest)
            lines += [line] if line else []
            continue
        for d in by_kind.get(step.key, []):
            ctx.restore = d.restore or step.key not in SWITCHED     # a flow the plant switched off stays off
            if d.final is not None:
                before = len(ctx.plans)
                live_fn = getattr(step, "live", None)
                old = live_fn(conn, d.name) if live_fn is not None and step.key == "forms" else None
                line = _install_item(step, ctx, d)
                lines += [line] if line else []
                for fp in ctx.plans[before:]:
                    said = formwords.describe(fp.operations, d.final, old[0] if old else None)
                    if said:
                        lines.append(f"{d.kind_label['zh-CN']} {d.label['zh-CN']}：" + "；".join(x["zh-CN"] for x in said))
                    d.details = d.details + said
            if d.restore and getattr(step, "restore", None) is not None:
                step.restore(ctx, d.name)
                lines.append(f"{d.kind_label['zh-CN']} {d.label['zh-CN']}：已恢复 / restored")
    for d in reversed(work.retire):
        step = next((s for s in steps if s.key == d.kind), None)
        if step is not None and getattr(step, "retire", None) is not None:
            step.retire(ctx, d.name)
            lines.append(f"{d.kind_label['zh-CN']} {d.label['zh-CN']}：停用（数据保留） / retired (data kept)")
    if upgrading:
        lines += migrations.run(conn, work.source.root, work.name, work.from_version, work.to_version, "post", forms=forms, now=now)
    for step in steps:
        if step.phase != "data":
            continue
        for file, raw in bundle.of(step.key):
            line = _data_item(step, ctx, work.name, file, raw)
            lines += [line] if line else []
    if work.demo and bundle.manifest.get("demo"):
        demo = loader.Bundle(bundle.root, bundle.manifest, {"fixtures": [(f"pack.json#/demo/{i}", e) for i, e in
                                                                        enumerate(bundle.manifest["demo"])]}, bundle.plugins)
        dctx = pack_steps.PackContext(demo, conn=conn, forms=forms, now=now, tz=tz, actor_id=actor_id)
        dctx.fixtures_existing = "skip"
        fx = next((s for s in steps if s.key == "fixtures"), None)
        for file, raw in demo.of("fixtures") if fx else []:
            line = _data_item(fx, dctx, work.name, file, raw)
            lines += [line] if line else []
    m = bundle.manifest
    state.save_pack(conn, work.name, now=now, version=work.to_version, label=label_of(m, work.name),
                    depends=m.get("depends") or {}, source=str(Path(work.source.root).resolve()), status=state.INSTALLED,
                    checksums=checksums.compute(work.source.root),
                    **({"upgraded_at": now} if work.from_version and work.from_version != work.to_version else {}))
    owned = state.owners(conn)
    state.remember_items(conn, work.name, work.to_version, [
        (d.kind, d.name, d.shipped) for d in work.items if not d.overlay
        # a shared kind (a role) is the pack's only if the pack made it (or filled its label): a plant's own stays the plant's
        # (and not when a pack installed earlier in the same plan made it: two packs naming one role)
        and (d.kind not in SHARED or owned.get((d.kind, d.name)) == work.name
             or owned.get((d.kind, d.name)) is None and d.change in ("added", "changed"))])
    return lines


def _upgrading(work: PackWork) -> bool:
    return (work.action != "uninstall" and work.from_version is not None and work.to_version is not None
            and parse_version(work.to_version) > parse_version(work.from_version))


def _hand_over(conn: Connection, p: PackPlan) -> None:
    """Definitions an upgraded pack gives up to a pack this plan installs stop being the old pack's; a
    form must be gone by now (the old pack's pre.py moves its records aside), else nothing is applied."""
    from mom.engines.forms.retire import live_form

    for (kind, name), old in p.handed.items():
        if kind == "forms" and live_form(conn, name) is not None:
            raise InvalidInput(f"模型包 {old} 的新版本把表单「{name}」交给另一个模型包，但它的升级迁移（pre.py）没有先把原来的表单和数据移开："
                               "请联系模型包的作者；未做任何修改",
                               f"pack {old}'s new version hands form {name} over to another pack, but its upgrade migration "
                               "(pre.py) did not move the old form and its data aside first: ask the pack's author; nothing was changed")
        conn.execute(T.pack_item.delete().where(T.pack_item.c.pack == old, T.pack_item.c.kind == kind, T.pack_item.c.name == name))


def _install_item(step: pack_steps.PackStep, ctx: pack_steps.PackContext, d: ItemDecision) -> str | None:
    """Install one decided item; its error names the kind, the item in words and the pack's file."""
    try:
        return loader.install_item(step, ctx, d.file, d.final)
    except MomError as exc:
        blocked = [o for o in ((exc.detail or {}).get("plan") or {}).get("operations") or [] if o.get("safety") == "blocked"]
        if blocked:      # a form change that would lose data: say which, not "see detail.plan"
            exc.zh = (f"{d.kind_label['zh-CN']}「{d.label['zh-CN']}」的这项变更会丢失已有数据，已阻止："
                      + "；".join(o["message"]["zh-CN"] for o in blocked) + "。请先修改这些记录，或请模型包的作者保留原来的设置")
            exc.en = (f"{d.kind_label['en']} “{d.label['en']}”: this change would lose existing data and is blocked: "
                      + "; ".join(o["message"]["en"] for o in blocked) + ". Fix those records first, or ask the pack's author to keep the old setting")
            raise
        exc.zh = f"{d.kind_label['zh-CN']}「{d.label['zh-CN']}」（{d.pack} 的 {d.file}）：{exc.zh}"
        exc.en = f"{d.kind_label['en']} “{d.label['en']}” ({d.pack}: {d.file}): {exc.en}"
        exc.problems = [Problem(f"{d.file}#{x.path}", x.zh, x.en, x.code) for x in exc.problems or []]
        raise


def _data_item(step: pack_steps.PackStep, ctx: pack_steps.PackContext, pack: str, file: str, raw: Any) -> str | None:
    """Load one master/demo data file; its error names the pack, the data file and the form."""
    try:
        return loader.install_item(step, ctx, file, raw)
    except MomError as exc:
        where = raw.get("file") if isinstance(raw, dict) else file
        form = raw.get("form") if isinstance(raw, dict) else ""
        exc.zh = f"模型包 {pack} 的数据文件 {where}（表单 {form}）有错，整个安装已撤销：{exc.zh}"
        exc.en = f"pack {pack}'s data file {where} (form {form}) is wrong; the whole install was rolled back: {exc.en}"
        exc.problems = [Problem(f"{where}: {x.path}" if x.path else str(where), x.zh, x.en, x.code) for x in exc.problems or []]
        raise


def _uninstall(conn: Connection, work: PackWork, forms: Any, *, now: dt.datetime, tz: dt.tzinfo,
               actor_id: int | None) -> list[str]:
    row = state.packs(conn).get(work.name) or {}
    ctx = pack_steps.PackContext(loader.Bundle(Path(row.get("source") or "."), {"name": work.name}), conn=conn, forms=forms,
                                 now=now, tz=tz, actor_id=actor_id)
    steps = pack_steps.registered()
    rank = {s.key: i for i, s in enumerate(steps)}
    todo = sorted(work.retire, key=lambda d: -rank.get(d.kind, 0))      # automation first, then forms
    forms_first = _form_order(conn, [d.name for d in todo if d.kind == "forms"])
    todo = [d for d in todo if d.kind != "forms"] + sorted((d for d in todo if d.kind == "forms"),
                                                           key=lambda d: -forms_first.index(d.name))
    lines = []
    for d in todo:
        step = next((s for s in steps if s.key == d.kind), None)
        fn = getattr(step, "purge" if work.purge else "retire", None) if step else None
        if fn is not None:
            fn(ctx, d.name)
        lines.append(f"{d.kind_label['zh-CN']} {d.label['zh-CN']}：" + ("已删除 / purged" if work.purge else "停用（数据保留） / retired (data kept)"))
    if work.purge:
        state.forget_pack(conn, work.name)
    else:
        state.save_pack(conn, work.name, now=now, status=state.UNINSTALLED)
    return lines


def _form_order(conn: Connection, names: list[str]) -> list[str]:
    """``names`` with each form after the forms it references (the order they were created in)."""
    from mom.engines.forms import store

    known = store.known_forms(conn)
    ordered = loader.order_forms([(n, known[n]) for n in names if n in known])
    out = [raw["name"] for _, raw in ordered]
    return out + [n for n in names if n not in out]
