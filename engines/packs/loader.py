"""Definition folders (the future model packs): a ``pack.json`` manifest plus form definitions.

A folder is validated, planned and applied as one unit, in dependency order (references first),
in one transaction; unchanged definitions are skipped by hash, so applying twice is a no-op. Each
kind of definition is a ``PackStep`` (``mom.engines.packs.steps``) registered through the
``mom_pack_steps`` hook; the loader reads and installs whatever steps are registered. A pack may
carry a ``hooks.py`` of ``@hookimpl`` functions, registered on the plug-in manager as
``pack:<name>`` when the pack is loaded. Loading a pack (``mom form validate|plan|apply PACK``, the
demo, the API's pack install) therefore EXECUTES its ``hooks.py``: a pack is code, install only packs
you trust. A ``hooks.py`` that fails is an ``InvalidInput`` naming the pack, the file and the line;
a second folder with a name already registered from another folder is a ``Conflict``; a pack name
must match ``^[a-z][a-z0-9_]*$`` before it becomes a module name.

``pack.json``::

    {"format": "mom.pack/1", "name": "demo", "version": "1.0.0",
     "label": {"zh-CN": "演示", "en": "Demo"},
     "forms": ["forms/supplier.json", "forms/iqc_inspection.json"],      # optional: default forms/*.json
     "fixtures": [{"form": "supplier", "file": "fixtures/supplier.csv", "key": "code", "as_user": "optional owner"}]}

plus, per step, a list of files (``"workflows"``, ``"rules"``, ``"reports"``, ``"dashboards"``,
``"prints"``; default ``<folder>/*.json``) or of entries (``"roles"``).
"""
from __future__ import annotations

import importlib.util
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy
from sqlalchemy.engine import Connection, Engine

from mom.engines.forms import store
from mom.engines.forms.definition import validate_form
from mom.engines.forms.plan import Plan
from mom.engines.packs import steps as pack_steps
from mom.engines.packs.jsonfile import read_json
from mom.engines.packs.menu import PACK_FORMAT, record_pack
from mom.platform import plugins
from mom.platform.errors import Conflict, InvalidInput, MomError, Problem

__all__ = ["PACK_FORMAT", "Bundle", "apply", "apply_automation", "install_data", "install_item", "load", "order_forms", "plan", "record_pack",
           "register_pack_hooks", "validate"]


@dataclass
class Bundle:
    """A loaded folder: its manifest and, per pack step, the items to install in order."""

    root: Path
    manifest: dict[str, Any]
    items: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)   # step key -> (file, raw)
    plugins: pluggy.PluginManager | None = None    # whose steps install it (None: the process's manager)

    def of(self, key: str) -> list[tuple[str, Any]]:
        """(file, raw) of one pack step, in install order (forms: dependency order)."""
        return self.items.get(key, [])

    @property
    def forms(self) -> list[tuple[str, Any]]:
        return self.of("forms")


def _read_json(path: Path, problems: list[Problem], root: Path | None = None) -> Any:
    """The JSON file ``path`` through the bounded pack reader (size, nesting); a problem (at the file's
    path inside ``root``) is added to ``problems`` and None returned when it cannot be read."""
    try:
        shown = path.relative_to(root).as_posix() if root is not None else path.name
    except ValueError:
        shown = path.name
    try:
        return read_json(path, shown)
    except InvalidInput as exc:
        problems.extend(exc.problems)
    return None


def load(path: str | Path, *, pm: pluggy.PluginManager | None = None) -> Bundle:
    """Read a definition file or folder; raise InvalidInput listing every problem in every file.

    A pack's ``hooks.py`` is registered first (on ``pm``, or the process's manager), so the pack's
    own steps read and install its own folders."""
    root = Path(path)
    problems: list[Problem] = []
    if not root.exists():
        raise InvalidInput(f"路径不存在：{root}", f"no such file or folder: {root}")
    if root.is_file():
        raw = _read_json(root, problems)
        if problems:
            raise InvalidInput("定义文件无法读取", "the definition file cannot be read", problems=problems)
        return Bundle(root.parent, {"name": root.stem}, {"forms": [(root.name, raw)]})
    manifest: dict[str, Any] = {"name": root.name}
    mpath = root / "pack.json"
    if mpath.exists():
        m = _read_json(mpath, problems, root)
        if isinstance(m, dict):
            manifest = m
            if m.get("format") != PACK_FORMAT:
                problems.append(Problem("pack.json/format", f"应为 {PACK_FORMAT}", f"expected {PACK_FORMAT}", "format"))
    if (root / "hooks.py").is_file() and not problems and not (isinstance(manifest.get("name"), str)
                                                                and PACK_NAME.fullmatch(manifest["name"])):
        problems.append(Problem("pack.json/name", f"带 hooks.py 的包须有名称，且为小写字母开头的小写字母、数字、下划线：{manifest.get('name')!r}",
                                f"a pack with a hooks.py needs a name of lower-case letters, digits and _ starting "
                                f"with a letter: {manifest.get('name')!r}", "name"))
    if isinstance(manifest.get("name"), str) and not problems:
        register_pack_hooks(root, manifest["name"], pm)
    files = [root / f for f in manifest.get("forms", [])] or sorted((root / "forms").glob("*.json")) or sorted(
        p for p in root.glob("*.json") if p.name != "pack.json")
    items: dict[str, list[tuple[str, Any]]] = {"forms": []}
    for f in files:
        raw = _read_json(f, problems, root)
        if raw is not None:
            items["forms"].append((str(f.relative_to(root)), raw))
    items["forms"] = order_forms(items["forms"])
    for step in pack_steps.registered(pm=pm):
        if step.key == "forms":
            continue
        items[step.key] = _items(root, manifest, step, problems)
    if problems:
        raise InvalidInput("定义文件夹中有无法读取的文件", "some files in the folder cannot be read", problems=problems)
    return Bundle(root, manifest, items, pm)


def _items(root: Path, manifest: dict[str, Any], step: pack_steps.PackStep, problems: list[Problem]) -> list[tuple[str, Any]]:
    if step.once:
        return [("pack.json", manifest)]
    if step.folder is None:
        entries = manifest.get(step.key) or []
        return [(f"pack.json#/{step.key}/{i}", e) for i, e in enumerate(entries)] if isinstance(entries, list) else []
    out = []
    for f in [root / x for x in manifest.get(step.key, [])] or sorted((root / step.folder).glob("*.json")):
        raw = _read_json(f, problems, root)
        if raw is not None:
            out.append((str(f.relative_to(root)), raw))
    return out


#: What a pack's name must look like before it becomes part of a module name (``mom_pack_hooks_<name>``);
#: use ``fullmatch`` (``\Z``, not ``$``: a name with a trailing newline is not a name).
PACK_NAME = re.compile(r"\A[a-z][a-z0-9_]*\Z")


def register_pack_hooks(root: Path, name: str, pm: pluggy.PluginManager | None = None) -> ModuleType | None:
    """Register the pack's ``hooks.py`` (if any) on the plug-in manager as ``pack:<name>``, once.

    This executes ``hooks.py`` (a pack is code: install only packs you trust). The pack steps see it
    at once; other registries an engine already resolved in this process (cached on first use:
    field types, actions, channels …) do not, so a long-running process loads its packs before
    serving. A bad name is an ``InvalidInput``; a ``hooks.py`` that fails to run or register, an
    ``InvalidInput`` naming the pack, file and line; the same name from another folder, a ``Conflict``."""
    path = root / "hooks.py"
    if not path.is_file():
        return None
    if not PACK_NAME.fullmatch(name):
        raise InvalidInput(f"包名 {name!r} 须为小写字母开头的小写字母、数字、下划线（它会成为模块名）",
                           f"pack name {name!r} must be lower-case letters, digits and _ starting with a letter "
                           "(it becomes a module name)")
    shared = pm is None
    if pm is None:
        pm = plugins.plugin_manager()
    known = pm.get_plugin(f"pack:{name}")
    if known is not None:
        first = Path(getattr(known, "__file__", "") or "")
        if first.resolve() != path.resolve():
            raise Conflict(f"已从 {first.parent} 载入名为 {name} 的包；{root} 不能再用这个名字，请改名",
                           f"a pack named {name} is already loaded from {first.parent}; {root} cannot use that name too, "
                           "rename one", detail={"pack": name, "folders": [str(first.parent), str(root)]})
        return known
    spec = importlib.util.spec_from_file_location(f"mom_pack_hooks_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        pm.register(module, name=f"pack:{name}")
    except Exception as exc:   # noqa: BLE001 — a pack's code: reported with its place, never a traceback
        raise hooks_error(name, path, exc) from exc
    finally:
        if shared:             # the process's cached steps: recomputed with this pack's (even a half-registered one)
            pack_steps.forget()
    return module


def hooks_error(name: str, path: Path, exc: BaseException) -> InvalidInput:
    """The ``InvalidInput`` for a pack's ``hooks.py`` that failed: the pack, the file and line, the error."""
    line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
    if line is None:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == path.resolve()]
        line = frames[-1].lineno if frames else None
    where = f"{path}:{line}" if line else str(path)
    reason = f"{type(exc).__name__}: {exc}"
    return InvalidInput(f"包 {name} 的插件代码出错（{where}）：{reason}", f"pack {name}'s plug-in code failed ({where}): {reason}",
                        detail={"pack": name, "file": str(path), "line": line})


def install_item(step: pack_steps.PackStep, ctx: pack_steps.PackContext, file: str, raw: Any) -> str | None:
    """``step.install`` on one item; a plug-in step's own bug (not a ``MomError``) is an
    ``InvalidInput`` naming the step, the pack's file and the code's file and line."""
    try:
        return step.install(ctx, file, raw)
    except MomError:
        raise
    except Exception as exc:   # noqa: BLE001 — a plug-in's code: reported with its place, never a traceback
        frames = traceback.extract_tb(exc.__traceback__)
        at = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
        reason = f"{type(exc).__name__}: {exc}"
        raise InvalidInput(f"安装步骤 {step.key} 处理 {file} 时出错（代码 {at}）：{reason}",
                           f"pack step {step.key} failed on {file} (code at {at}): {reason}",
                           detail={"step": step.key, "file": file, "code": at}) from exc


def order_forms(forms: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
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


def _run(ctx: pack_steps.PackContext, phase: str) -> list[str]:
    """Install every step of ``phase`` in order. Automation files are all tried and their problems
    reported together (each at ``file#/pointer``); a form, fixture or manifest entry that fails stops
    at once with its own error."""
    out: list[str] = []
    problems: list[Problem] = []
    for step in pack_steps.registered(phase, ctx.bundle.plugins):
        if step.once and problems:
            break                      # a step over the whole pack (the menu) only when all went well
        for file, raw in ctx.items(step.key):
            try:
                line = install_item(step, ctx, file, raw)
            except MomError as exc:
                if phase != "automation" or step.folder is None:
                    raise
                problems.extend(exc.problems_in(file))
                continue
            if line:
                out.append(line)
    if problems:
        raise InvalidInput(f"{len(problems)} 处错误", f"{len(problems)} problem(s)", problems=problems)
    return out


def apply_automation(conn: Connection, bundle: Bundle, forms: Any, *, now: Any, tz: Any,
                     actor_id: int | None = None) -> list[str]:
    """Install the pack's automation steps after its forms: roles, workflows, event rules, reports,
    dashboards, print templates, the menu (and any plug-in's steps); unchanged ones are skipped."""
    return _run(pack_steps.PackContext(bundle, conn=conn, forms=forms, now=now, tz=tz, actor_id=actor_id), "automation")


def apply(conn: Connection, bundle: Bundle, *, actor_id: int | None = None) -> list[Plan]:
    """Validate and publish the pack's forms (the schema steps); returns the plans applied."""
    validate(conn, bundle)
    ctx = pack_steps.PackContext(bundle, conn=conn, actor_id=actor_id)
    _run(ctx, "schema")
    return ctx.plans


def install_data(engine: Engine, bundle: Bundle, forms: Any) -> list[str]:
    """Install the data steps (fixture records) through the record service, after the definitions
    committed; each import runs its own transactions."""
    return _run(pack_steps.PackContext(bundle, engine=engine, forms=forms), "data")
