"""dev → prod: a plant's own configuration written out as a pack.

``export`` writes every definition no installed pack owns (forms, workflows, rules, reports,
dashboards, print templates, roles — the plant's own, built in the designer), plus those the pack
being exported already owns (a plant that installed its own configuration pack and keeps changing
it), as a pack folder: ``pack.json``, a folder per kind, ``CHECKSUMS.sha256``. The plant's changes
to other packs' definitions (a field added to a pack's form in the designer) go along under
``customisations/`` and are merged on the target like an upgrade (``planner.decide_customisations``).
Records are not exported. The packs whose forms the configuration refers to become its ``depends`` (``^`` their
installed version), so installing it on an empty server brings them along. The menu follows: the
pack's forms, reports and dashboards under its label.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.packs import checksums, loader, state
from mom.engines.packs import steps as pack_steps
from mom.engines.packs.loader import PACK_NAME
from mom.engines.packs.manifest import parse_version
from mom.engines.packs.menu import PACK_FORMAT
from mom.platform.errors import InvalidInput

#: keys whose string values name a form (a reference field, a workflow's or a report's source)
FORM_KEYS = ("form", "source")


def collect(conn: Connection, name: str) -> dict[str, list[tuple[str, Any]]]:
    """step key -> [(item name, live definition)] of what an export of pack ``name`` holds."""
    owners = state.owners(conn)
    out: dict[str, list[tuple[str, Any]]] = {}
    for step in pack_steps.registered():
        names_fn, live_fn = getattr(step, "names", None), getattr(step, "live", None)
        if step.phase not in ("schema", "automation") or step.once or names_fn is None or live_fn is None:
            continue
        for item in names_fn(conn):
            if owners.get((step.key, item)) not in (None, name):
                continue
            found = live_fn(conn, item)
            if found is not None and not found[1]:
                out.setdefault(step.key, []).append((item, found[0]))
    return out


def customised(conn: Connection, name: str) -> dict[str, list[tuple[str, str, Any]]]:
    """step key -> [(item name, owning pack, live definition)] of other packs' definitions the plant
    changed (live differs from what the pack shipped): exported as ``customisations``."""
    from mom.engines.definitions.identity import definition_hash

    out: dict[str, list[tuple[str, str, Any]]] = {}
    steps = {s.key: s for s in pack_steps.registered()}
    installed = state.installed_versions(conn)
    for pack in sorted(installed):
        if pack == name:
            continue
        for row in state.items_of(conn, pack):
            step = steps.get(row["kind"])
            live_fn = getattr(step, "live", None) if step is not None else None
            if step is None or live_fn is None or step.folder is None:
                continue
            found = live_fn(conn, row["name"])
            if found is not None and not found[1] and isinstance(found[0], dict) and definition_hash(found[0]) != row["base_hash"]:
                out.setdefault(row["kind"], []).append((row["name"], pack, found[0]))
    return out


def _strings(raw: Any, keys: tuple[str, ...]) -> set[str]:
    """Every string a definition holds under one of ``keys`` (a string value, or a list of strings)."""
    found: set[str] = set()
    if isinstance(raw, dict):
        for k, v in raw.items():
            if k in keys and isinstance(v, str):
                found.add(v)
            elif k in keys and isinstance(v, list) and all(isinstance(x, str) for x in v):
                found |= set(v)
            else:
                found |= _strings(v, keys)
    elif isinstance(raw, list):
        for v in raw:
            found |= _strings(v, keys)
    return found


def _referenced_forms(raw: Any) -> set[str]:
    return _strings(raw, FORM_KEYS)


def export(conn: Connection, *, name: str, out: str | Path, version: str = "1.0.0",
           label: dict[str, str] | None = None) -> dict[str, Any]:
    """Write the plant's configuration as pack ``name`` into folder ``out``; returns what was written."""
    if not isinstance(name, str) or not PACK_NAME.match(name) or len(name) > 64:
        raise InvalidInput(f"包名 {name!r} 须为小写英文字母开头的小写字母、数字、下划线（例如 plant_config）",
                           f"pack name {name!r} must be lower-case letters, digits and _ starting with a letter (e.g. plant_config)")
    parse_version(version)
    root = Path(out).resolve()
    _refuse_pack_folders(conn, root, name)
    _prepare(root, name)
    items = collect(conn, name)
    changes = customised(conn, name)
    if not items and not changes:
        raise InvalidInput("没有可导出的本厂定义：模型包安装的定义不导出，工厂自己设计的表单、流程、报表等才导出",
                           "nothing to export: definitions installed by packs are not exported, only the plant's own forms, "
                           "flows, reports and so on")
    owners = state.owners(conn)
    installed = state.installed_versions(conn)
    depends: dict[str, str] = {}
    for kind_items in items.values():
        for _, raw in kind_items:
            for form in _referenced_forms(raw):
                owner = owners.get(("forms", form))
                if owner and owner != name and owner in installed:
                    depends[owner] = f"^{installed[owner]}"
    for kind_changes in changes.values():
        for _, owner, _ in kind_changes:
            depends[owner] = f"^{installed[owner]}"
    _add_named_roles(conn, items)
    label = label or {"zh-CN": "本厂配置", "en": "Plant configuration"}
    manifest: dict[str, Any] = {"format": PACK_FORMAT, "name": name, "version": version, "label": label, "exported": True}
    if depends:
        manifest["depends"] = dict(sorted(depends.items()))
    counts: dict[str, int] = {}
    for step in pack_steps.registered():
        got = items.get(step.key)
        if not got:
            continue
        counts[step.key] = len(got)
        if step.folder is None:
            manifest[step.key] = [raw for _, raw in got]
            continue
        if step.key == "forms":
            got = [(raw["name"], raw) for _, raw in loader.order_forms([(n, raw) for n, raw in got])]
        files = []
        for item, raw in got:
            rel = f"{step.folder}/{item}.json"
            (root / step.folder).mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(json.dumps(raw, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            files.append(rel)
        manifest[step.key] = files
    listed: dict[str, list[str]] = {}
    for step in pack_steps.registered():
        for item, _, raw in changes.get(step.key, []):
            rel = f"customisations/{step.folder}/{item}.json"
            (root / "customisations" / str(step.folder)).mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(json.dumps(raw, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            listed.setdefault(step.key, []).append(rel)
    if listed:
        manifest["customisations"] = listed
        counts["customisations"] = sum(len(v) for v in listed.values())
    (root / "pack.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    checksums.write(root)
    return {"path": str(root), "name": name, "version": version, "depends": depends, "counts": counts}


def _named_roles(raw: Any) -> set[str]:
    """Role names a definition names (assignees, permissions, report audiences …)."""
    return _strings(raw, ("roles", "role"))


def _add_named_roles(conn: Connection, items: dict[str, list[tuple[str, Any]]]) -> None:
    """Every role the exported definitions name goes along (a pack's too: roles are shared, and an
    empty server needs them before a flow can name them)."""
    roles = next((s for s in pack_steps.registered() if s.key == "roles"), None)
    live_fn = getattr(roles, "live", None) if roles is not None else None
    if live_fn is None:
        return
    have = {n for n, _ in items.get("roles", [])}
    for kind, got in list(items.items()):
        if kind == "roles":
            continue
        for _, raw in got:
            for role in sorted(_named_roles(raw) - have):
                found = live_fn(conn, role)
                if found is not None:
                    items.setdefault("roles", []).append((role, found[0]))
                    have.add(role)


def _refuse_pack_folders(conn: Connection, root: Path, name: str) -> None:
    """Never write over a pack's own folder (an installed pack's source, a built-in or found pack), nor
    export under the name of an installed pack that is not itself an export."""
    from mom.engines.packs import catalog

    from mom.platform.settings import get_settings

    rows = state.packs(conn)
    folders = {Path(r["source"]).resolve() for r in rows.values() if r.get("source")}
    folders |= {Path(src.root).resolve() for src in catalog.all_sources() if src.origin != "uploaded"}
    uploads = (Path(get_settings().data_dir) / "packs").resolve()
    if root == uploads or uploads in root.parents:
        raise InvalidInput(f"{root} 在服务器保存上传模型包的目录里，不能导出到这里：请换一个空文件夹",
                           f"{root} is inside the server's folder of uploaded packs: choose an empty folder elsewhere")
    if root in folders:
        raise InvalidInput(f"{root} 是一个模型包自己的文件夹，不能导出到这里：请换一个空文件夹",
                           f"{root} is a pack's own folder; exporting there would overwrite it: choose an empty folder")
    row = rows.get(name)
    if row is not None:
        src = Path(row.get("source") or "")
        uploaded = src.resolve() == uploads or uploads in src.resolve().parents
        exported = _was_exported(src / "pack.json") and not uploaded    # an upload's own word is not enough
        if not exported:
            raise InvalidInput(f"名称 {name} 已被模型包「{(row.get('label') or {}).get('zh-CN', name)}」使用：请给本厂配置换一个名称（例如 plant_config）",
                               f"the name {name} is taken by an installed pack: give the plant configuration another name (e.g. plant_config)")


def _manifest_or_none(path: Path) -> Any:
    """A pack.json read with the bounded reader; None when it is missing or unreadable."""
    from mom.engines.packs.jsonfile import read_json
    from mom.platform.errors import MomError

    try:
        return read_json(path, "pack.json") if path.is_file() else None
    except MomError:
        return None


def _was_exported(path: Path) -> bool:
    got = _manifest_or_none(path)
    return isinstance(got, dict) and got.get("exported") is True


def _ours(rel: Path) -> bool:
    """A file an export writes: pack.json, the checksum list, a definition in a kind folder or customisations/."""
    parts = rel.parts
    if parts in (("pack.json",), ("CHECKSUMS.sha256",)):
        return True
    folders = {s.folder for s in pack_steps.registered() if s.folder}
    if len(parts) == 2 and parts[0] in folders and rel.suffix == ".json":
        return True
    return len(parts) == 3 and parts[0] == "customisations" and parts[1] in folders and rel.suffix == ".json"


def _prepare(root: Path, name: str) -> None:
    """An empty (or new) folder, or an earlier export of the same pack (its files are replaced)."""
    if root.exists() and not root.is_dir():
        raise InvalidInput(f"{root} 是一个文件，不是文件夹", f"{root} is a file, not a folder")
    if not root.exists() or not any(root.iterdir()):
        root.mkdir(parents=True, exist_ok=True)
        return
    mpath = root / "pack.json"
    old = _manifest_or_none(mpath)
    foreign = [str(f.relative_to(root)) for f in root.rglob("*") if f.is_file() and not _ours(f.relative_to(root))]
    if not isinstance(old, dict) or old.get("name") != name or old.get("exported") is not True or foreign:
        extra = f"（里面还有导出不会写的文件：{'、'.join(foreign[:5])}）" if foreign and isinstance(old, dict) else ""
        raise InvalidInput(f"文件夹 {root} 不是空的，也不是模型包 {name} 以前的导出{extra}：请换一个空文件夹",
                           f"folder {root} is neither empty nor an earlier export of pack {name}"
                           f"{' (it holds files an export does not write: ' + ', '.join(foreign[:5]) + ')' if extra else ''}: choose an empty folder")
    for folder in [s.folder for s in pack_steps.registered() if s.folder] + ["customisations"]:
        if (root / folder).is_dir():
            shutil.rmtree(root / folder)
    for f in ("pack.json", checksums.FILE if hasattr(checksums, "FILE") else "CHECKSUMS.sha256"):
        (root / f).unlink(missing_ok=True)
