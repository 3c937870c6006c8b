"""The pack catalogue: every model pack this server can install, and the order to install them in.

Packs are found in three places, each a folder with a ``pack.json``:

- built in: the folders of the ``mom.modelpacks`` package (origin ``"builtin"``);
- ``MOM_PACK_PATH`` (environment or the ``pack_path`` setting; an ``os.pathsep`` list): each entry a
  pack folder or a folder of pack folders (origin ``"path"``);
- uploaded: ``<data dir>/packs/<name>/`` (origin ``"uploaded"``);
- installed earlier from a folder of its own (``installed_sources``, the ``mom_pack`` rows' ``source``;
  origin ``"installed"``), while that folder still holds the pack.

A pack may also be named by its folder (origin ``"given"``): a target is a folder only when it is a
``Path`` or its text contains ``/`` or starts with ``.`` (``./mypack``); any other text is a name, looked
up in the catalogue only. On equal versions a folder given or on the server outranks the built-in, which
outranks one installed from a folder, which outranks an upload: an upload never shadows a built-in pack.
A folder that cannot be read is left out of the catalogue (and reported), never an error for the
whole list. ``resolve`` lists what must be installed so that a pack can be: its missing dependencies
(recursively, dependencies first, each the highest version in the catalogue that its range allows),
then the pack itself.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mom.engines.packs.manifest import PACK_FILE, Range, Version, parse_range, parse_version, read_manifest
from mom.platform.errors import InvalidInput, NotFound, did_you_mean

ORIGINS = ("builtin", "path", "uploaded", "given", "installed")
_NAME = re.compile(r"[a-z][a-z0-9_]*")          # always fullmatch
#: on equal versions, which origin wins (the administrator's own folders, then the built-in; an upload last)
_RANK = {"given": 4, "path": 3, "builtin": 2, "installed": 1, "uploaded": 0}


@dataclass(frozen=True, eq=False)
class PackSource:
    """A pack folder found somewhere, with its checked manifest."""

    root: Path
    manifest: dict[str, Any]
    origin: str                       # "builtin" | "path" | "uploaded" | "given" | "installed"

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def version(self) -> Version:
        return parse_version(self.manifest["version"])

    @property
    def label(self) -> dict[str, str]:
        """``{"zh-CN": …, "en": …}`` (an old pack's text label serves both)."""
        raw = self.manifest.get("label") or self.name
        if isinstance(raw, str):
            return {"zh-CN": raw, "en": raw}
        return {"zh-CN": raw["zh-CN"], "en": raw.get("en") or raw["zh-CN"]}

    @property
    def depends(self) -> dict[str, str]:
        return dict(self.manifest.get("depends") or {})

    def __repr__(self) -> str:
        return f"PackSource({self.name} {self.version}, {self.origin}: {self.root})"


def _settings(settings: Any) -> Any:
    if settings is None:
        from mom.platform.settings import get_settings   # read when asked, never at import

        settings = get_settings()
    return settings


def _path_entries(settings: Any) -> list[Path]:
    texts = [getattr(settings, "pack_path", "") or "", os.environ.get("MOM_PACK_PATH", "")]
    out: list[Path] = []
    for text in texts:
        for entry in str(text).split(os.pathsep):
            if entry.strip() and Path(entry.strip()).expanduser() not in out:
                out.append(Path(entry.strip()).expanduser())
    return out


def _pack_folders(entry: Path, *, itself: bool) -> list[Path]:
    """``entry`` when it is a pack folder (and ``itself``), else its sub-folders that are; an unreadable
    folder holds none."""
    try:
        if itself and (entry / PACK_FILE).is_file():
            return [entry]
        if not entry.is_dir():
            return []
        return sorted(d for d in entry.iterdir() if d.is_dir() and not d.name.startswith(".") and (d / PACK_FILE).is_file())
    except OSError:
        return []


def _is_pack_folder(folder: Path) -> bool:
    try:
        return (folder / PACK_FILE).is_file()
    except OSError:
        return False


def _builtin_roots() -> list[Path]:
    import mom.modelpacks as builtin

    return [Path(p) for p in builtin.__path__ if Path(p).is_dir()]


def all_sources(settings: Any = None, *, errors: list[tuple[Path, InvalidInput]] | None = None,
                installed_sources: Mapping[str, str | Path | None] | None = None) -> list[PackSource]:
    """Every pack found (built-in, ``MOM_PACK_PATH``, uploaded, then the folders packs were installed
    from: ``installed_sources`` maps a pack's name to the folder its ``mom_pack`` row remembers, listed
    while that folder still holds a pack of that name). A folder that cannot be read or whose
    ``pack.json`` is invalid is left out, never an error for the list; pass ``errors`` to get
    ``(folder, InvalidInput)`` for each."""
    settings = _settings(settings)
    places: list[tuple[Path, str, str | None]] = []
    for root in _builtin_roots():
        places += [(f, "builtin", None) for f in _pack_folders(root, itself=False)]
    for entry in _path_entries(settings):
        places += [(f, "path", None) for f in _pack_folders(entry, itself=True)]
    data_dir = getattr(settings, "data_dir", None)
    if data_dir is not None:
        places += [(f, "uploaded", None) for f in _pack_folders(Path(data_dir) / "packs", itself=False)]
    for name, folder in sorted((installed_sources or {}).items(), key=lambda kv: str(kv[0])):
        if folder and _NAME.fullmatch(str(name)) and _is_pack_folder(Path(folder)):
            places.append((Path(folder), "installed", str(name)))
    seen: set[Path] = set()
    out: list[PackSource] = []
    for folder, origin, expected in places:
        try:
            key = folder.resolve()
            if key in seen:
                continue
            seen.add(key)
            src = PackSource(folder, read_manifest(folder), origin)
            src.version            # noqa: B018 — parsed now, so a bad one is this folder's error, not the list's
        except InvalidInput as exc:
            if errors is not None:
                errors.append((folder, exc))
            continue
        except Exception as exc:   # noqa: BLE001 — one unreadable folder must not break the catalogue
            if errors is not None:
                errors.append((folder, InvalidInput(f"无法读取模型包文件夹 {folder}：{type(exc).__name__}",
                                                    f"cannot read the pack folder {folder}: {type(exc).__name__}: {exc}")))
            continue
        if expected is None or src.name == expected:
            out.append(src)
    return out


def _best(sources: Iterable[PackSource]) -> PackSource | None:
    return max(sources, key=lambda s: (s.version, _RANK.get(s.origin, 0)), default=None)


def is_path(target: str | Path) -> bool:
    """Whether ``target`` names a folder (a ``Path``, or text with ``/`` or starting with ``.``) rather
    than a pack in the catalogue."""
    if isinstance(target, Path):
        return True
    text = str(target)
    return "/" in text or os.sep in text or text.startswith(".")


def find(target: str | Path, settings: Any = None, *,
         installed_sources: Mapping[str, str | Path | None] | None = None) -> PackSource:
    """The pack named ``target`` in the catalogue (its highest version), or the pack folder at
    ``target`` (origin ``"given"``) when it is a path (``is_path``): a name never means a folder of that
    name in the current directory. Unknown: ``NotFound`` with a "did you mean"."""
    text = str(target)
    if is_path(target):
        folder = Path(target).expanduser().resolve()     # remembered as installed from: absolute, from any directory
        if (folder / PACK_FILE).is_file():
            return PackSource(folder, read_manifest(folder), "given")
        if folder.exists():
            raise InvalidInput(f"文件夹 {folder} 里没有 {PACK_FILE}，它不是模型包", f"{folder} has no {PACK_FILE}: it is not a pack")
        raise NotFound(f"找不到模型包文件夹 {folder}：请检查路径", f"no pack folder {folder}: check the path")
    sources = all_sources(settings, installed_sources=installed_sources)
    if _NAME.fullmatch(text):
        found = _best(s for s in sources if s.name == text)
        if found is not None:
            return found
    names = sorted({s.name for s in sources})
    hint = did_you_mean(text, names)
    shown = "、".join(names) or "（无）"
    local = len(text) <= 200 and Path(text).is_dir()
    zh_folder = f"要安装当前目录下的文件夹 {text}，请写 ./{text}" if local else "也可以给出模型包文件夹的路径（如 ./mypack），或先上传"
    en_folder = (f"to install the folder {text} in the current directory, write ./{text}" if local
                 else "You may also give a pack folder's path (like ./mypack), or upload the pack first")
    raise NotFound(f"没有名为 {text[:100]} 的模型包{hint}；可用的有：{shown}。{zh_folder}",
                   f"no pack named {text[:100]}{hint}; available: {', '.join(names) or '(none)'}. {en_folder}",
                   detail={"name": text[:100], "available": names})


def resolve(source: PackSource, installed: Mapping[str, str | None], settings: Any = None,
            *, sources: list[PackSource] | None = None,
            installed_sources: Mapping[str, str | Path | None] | None = None) -> list[PackSource]:
    """The packs to install, dependencies first, so that ``source`` can be installed: each missing
    dependency (the catalogue's highest version its range allows; recursively), then ``source``.

    ``installed`` maps installed pack names to their versions. An installed dependency outside the
    range, a missing one that the catalogue cannot satisfy, two packs needing versions of one pack
    that no single version satisfies, or a dependency cycle: ``InvalidInput`` saying which and what to do.
    ``sources`` (default: ``all_sources(settings, installed_sources=…)``) is the catalogue to choose from."""
    catalogue = sources if sources is not None else all_sources(settings, installed_sources=installed_sources)
    chosen: dict[str, PackSource] = {}
    order: list[PackSource] = []

    def visit(src: PackSource, stack: list[str]) -> None:
        for dep, text in sorted(src.depends.items()):
            need = parse_range(text)
            if dep in stack or dep == src.name:
                cycle = " -> ".join([*(stack[stack.index(dep):] if dep in stack else []), src.name, dep])
                raise InvalidInput(f"模型包之间循环依赖：{cycle}；请去掉其中一个依赖",
                                   f"packs depend on each other in a cycle: {cycle}; remove one dependency",
                                   detail={"cycle": cycle.split(" -> ")})
            if dep in chosen:
                _check_chosen(src, dep, need, chosen[dep])
                continue
            if installed.get(dep) is not None:
                _check_installed(src, dep, need, str(installed[dep]), catalogue)
                continue
            pick = _pick(src, dep, need, catalogue)
            chosen[dep] = pick
            visit(pick, [*stack, src.name])
            order.append(pick)

    visit(source, [])
    return [*order, source]


def _versions(dep: str, catalogue: list[PackSource]) -> list[Version]:
    return sorted({s.version for s in catalogue if s.name == dep})


def _pick(src: PackSource, dep: str, need: Range, catalogue: list[PackSource]) -> PackSource:
    fits = [s for s in catalogue if s.name == dep and need.matches(s.version)]
    best = _best(fits)
    if best is not None:
        return best
    found = _versions(dep, catalogue)
    if not found:
        raise InvalidInput(f"模型包 {src.name} 需要 {dep} {need}，但没有找到模型包 {dep}：请先上传它，或把它的文件夹加到 MOM_PACK_PATH",
                           f"pack {src.name} needs {dep} {need}, but no pack {dep} was found: upload it first, or add "
                           "its folder to MOM_PACK_PATH", detail={"pack": src.name, "needs": dep, "range": str(need), "found": []})
    shown = "、".join(map(str, found))
    raise InvalidInput(f"模型包 {src.name} 需要 {dep} {need}，找到的版本（{shown}）都不满足：请先获取 {dep} 的合适版本",
                       f"pack {src.name} needs {dep} {need}; no version found fits ({', '.join(map(str, found))}): "
                       f"get a suitable version of {dep} first",
                       detail={"pack": src.name, "needs": dep, "range": str(need), "found": [str(v) for v in found]})


def _check_installed(src: PackSource, dep: str, need: Range, have: str, catalogue: list[PackSource]) -> None:
    try:
        ok = need.matches(parse_version(have))
    except InvalidInput:
        ok = False
    if ok:
        return
    fits = [s.version for s in catalogue if s.name == dep and need.matches(s.version)]
    if fits:
        best = str(max(fits))
        zh_next, en_next = f"请先升级 {dep}（可用版本 {best}）", f"upgrade {dep} first (version {best} is available)"
    else:
        zh_next, en_next = f"目录中也没有满足的 {dep} 版本，请先获取它", f"no version of {dep} found fits either: get one first"
    raise InvalidInput(f"模型包 {src.name} 需要 {dep} {need}，已安装的是 {have}：{zh_next}",
                       f"pack {src.name} needs {dep} {need}, but {have} is installed: {en_next}",
                       detail={"pack": src.name, "needs": dep, "range": str(need), "installed": have,
                               "available": [str(v) for v in sorted(fits)]})


def _check_chosen(src: PackSource, dep: str, need: Range, pick: PackSource) -> None:
    if need.matches(pick.version):
        return
    raise InvalidInput(f"模型包 {src.name} 需要 {dep} {need}，而另一个依赖需要的 {dep} 是 {pick.version}：没有一个版本能同时满足，请调整依赖",
                       f"pack {src.name} needs {dep} {need}, but another dependency needs {dep} {pick.version}: "
                       "no one version fits both; adjust the dependencies",
                       detail={"pack": src.name, "needs": dep, "range": str(need), "chosen": str(pick.version)})


def dependents(name: str, installed: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Installed packs (``{name: {"depends": {…}, "status": …}}``) that depend on ``name``, sorted;
    uninstalled ones do not count."""
    return sorted(other for other, row in installed.items()
                  if other != name and (row.get("status") or "installed") == "installed"
                  and name in (row.get("depends") or {}))
