"""What else a pack plan says besides the definitions: the master and demo data it loads, the
migrations it runs, the menu it changes, dependencies it should declare — and, for an uninstall,
what is still running and how much a purge deletes."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.packs import migrations, state
from mom.engines.packs.manifest import parse_version
from mom.engines.packs.planner import PackPlan, PackWork, label_of, words
from mom.platform.db import tables as T


def _form_label(conn: Connection, work: PackWork, form: str) -> str:
    for d in work.items:
        if d.kind == "forms" and d.name == form:
            return d.label["zh-CN"]
    from mom.engines.forms import store

    raw = store.known_forms(conn).get(form)
    return label_of(raw, form)["zh-CN"] if raw else form


def install_notes(conn: Connection, work: PackWork, owners: dict[tuple[str, str], str], plan: PackPlan) -> None:
    """Fill ``work.notes`` (and ``plan.warnings`` / ``plan.reasons``) for an install or upgrade."""
    m = work.bundle.manifest
    for fx in m.get("fixtures") or []:
        if isinstance(fx, dict):
            lab = _form_label(conn, work, str(fx.get("form")))
            work.notes.append(words(f"基础数据：{lab} ← {fx.get('file')}（只补充缺少的行，工厂改过的行不动）",
                                    f"master data: {lab} <- {fx.get('file')} (missing rows only; rows the plant changed stay)"))
    if work.demo:
        for fx in m.get("demo") or []:
            if isinstance(fx, dict):
                lab = _form_label(conn, work, str(fx.get("form")))
                work.notes.append(words(f"演示数据：{lab} ← {fx.get('file')}", f"demo data: {lab} <- {fx.get('file')}"))
    for p in migrations.problems(work.source.root):
        plan.reasons.append(p)
    root = work.source.root
    code = ["hooks.py"] if (root / "hooks.py").is_file() else []
    if (root / "migrations").is_dir():
        code += sorted(str(f.relative_to(root)) for f in (root / "migrations").rglob("*.py"))
    if code:
        plan.warnings.append(words(
            f"模型包「{work.label['zh-CN']}」带有程序代码（{'、'.join(code[:5])}），安装时会在服务器上运行：只安装可信来源的模型包",
            f"pack “{work.label['en']}” carries program code ({', '.join(code[:5])}) that runs on the server: install only packs "
            "from a source you trust"))
    if work.from_version and parse_version(work.to_version) > parse_version(work.from_version):
        try:
            todo = migrations.pending(work.source.root, work.from_version, work.to_version)
        except Exception:   # noqa: BLE001 — reported by problems() above
            todo = []
        for version, folder in todo:
            for phase in migrations.PHASES:
                if (folder / f"{phase}.py").is_file():
                    work.notes.append(words(f"将运行迁移 {version} {phase}.py（模型包自带的代码，与升级在同一事务中）",
                                            f"runs migration {version} {phase}.py (the pack's own code, in the upgrade's transaction)"))
    _menu(conn, work)
    declared = set((m.get("depends") or {}).keys())
    for d in work.items:
        if d.kind != "forms" or not isinstance(d.final or d.shipped, dict):
            continue
        for f in _reference_fields(d.final or d.shipped):
            owner = owners.get(("forms", f.get("form")))
            if plan.handed.get(("forms", f.get("form"))) == owner:
                continue                          # a form this plan hands over to the pack being installed
            if owner and owner != work.name and owner not in declared:
                plan.warnings.append(words(
                    f"表单「{d.label['zh-CN']}」引用了模型包 {owner} 的表单：请在 pack.json 的 depends 里声明 {owner}，否则在没有它的服务器上装不上",
                    f"form “{d.label['en']}” references a form of pack {owner}: declare {owner} under depends in pack.json, "
                    "or it will not install where that pack is missing"))
                declared.add(owner)


def _reference_fields(raw: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for f in raw.get("fields") or []:
        if isinstance(f, dict):
            if f.get("type") == "reference":
                out.append(f)
            out.extend(g for g in f.get("fields") or [] if isinstance(g, dict) and g.get("type") == "reference")
    return out


def _menu(conn: Connection, work: PackWork) -> None:
    row = state.packs(conn).get(work.name) or {}
    old = row.get("menu") or {}
    kinds = {"forms": ("表单", "form"), "reports": ("报表", "report"), "dashboards": ("看板", "dashboard")}
    for kind, (zh, en) in kinds.items():
        now = {d.name: d.label for d in work.items if d.kind == kind and not d.overlay}
        before = set(old.get(kind) or [])
        added = [lab for n, lab in now.items() if n not in before]
        gone = sorted(before - set(now))
        if added:
            work.notes.append(words(f"菜单「{work.label['zh-CN']}」新增{zh}：" + "、".join(a["zh-CN"] for a in added),
                                    f"menu “{work.label['en']}” gains {en}s: " + ", ".join(a["en"] for a in added)))
        if gone:      # said by their labels (as the pack last shipped them), never by their keys
            shipped = {r["name"]: label_of(r["base"], r["name"]) for r in state.items_of(conn, work.name) if r["kind"] == kind}
            labels = [shipped.get(n) or {"zh-CN": n, "en": n} for n in gone]
            work.notes.append(words(f"菜单「{work.label['zh-CN']}」移除{zh}：" + "、".join(x["zh-CN"] for x in labels),
                                    f"menu “{work.label['en']}” loses {en}s: " + ", ".join(x["en"] for x in labels)))


def uninstall_notes(conn: Connection, work: PackWork, plan: PackPlan) -> None:
    """Running approvals on the pack's forms; for a purge, how many records each form loses."""
    forms = [d for d in work.retire if d.kind == "forms"]
    names = [d.name for d in forms]
    if names:
        running = conn.execute(sa.select(sa.func.count()).select_from(T.wf_instance).where(
            T.wf_instance.c.form.in_(names), T.wf_instance.c.status.in_(("running", "returned")))).scalar() or 0
        if running and work.purge:
            plan.warnings.append(words(f"还有 {running} 个审批在进行中：删除数据会连同这些审批一起删除；最好先处理完",
                                       f"{running} approval(s) are still running: a purge deletes them too; better finish them first"))
        elif running:
            plan.warnings.append(words(
                f"还有 {running} 个审批在进行中：卸载后这些待办无法处理（重新安装后可以继续）；最好先处理完",
                f"{running} approval(s) are still running: their tasks cannot be acted on while the pack is uninstalled "
                "(reinstalling brings them back); better finish them first"))
    if not work.purge:
        return
    total = 0
    for d in forms:
        phys = conn.execute(sa.select(T.form.c.physical).where(T.form.c.name == d.name)).scalar()
        table = ((phys or {}).get("tables") or {}).get("_main", {}).get("name")
        n = 0
        if table and sa.inspect(conn).has_table(table):
            n = conn.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar() or 0
        total += n
        d.details.append(words(f"将删除 {n} 条记录及其附件关联、审批记录", f"deletes {n} record(s) with their file links and approvals"))
    plan.warnings.append(words(f"删除数据不能恢复：共 {total} 条记录将被永久删除。先导出需要保留的数据",
                               f"a purge cannot be undone: {total} record(s) will be deleted for good. Export what you need first"))
