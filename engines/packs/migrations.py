"""Per-version migration steps beside a pack, for what a merge of definitions cannot express (Odoo's
model): ``migrations/<version>/pre.py`` runs before the definitions of an upgrade are applied,
``post.py`` after, each for every version v with installed < v <= new, in version order, in the
upgrade's transaction. Each file defines ``migrate(conn, ctx)``; ``ctx`` is a ``MigrationContext``.

A migration is code: install only packs you trust. One that fails is an ``InvalidInput`` naming the
pack, the file and the line, and the whole upgrade is rolled back.
"""
from __future__ import annotations

import datetime as dt
import importlib.util
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.packs.manifest import parse_version
from mom.platform.errors import InvalidInput, MomError

PHASES = ("pre", "post")


@dataclass(frozen=True)
class MigrationContext:
    """What a migration gets besides the connection."""

    pack: str
    from_version: str            # installed before this upgrade
    to_version: str              # what the upgrade installs
    version: str                 # the folder being run
    phase: str                   # pre | post
    forms: Any                   # the form registry (post: the new definitions are published)
    now: dt.datetime


def pending(root: Path, from_version: str, to_version: str) -> list[tuple[str, Path]]:
    """(version, folder) of the migrations an upgrade from ``from_version`` to ``to_version`` runs, in order."""
    base = root / "migrations"
    if not base.is_dir():
        return []
    lo, hi = parse_version(from_version), parse_version(to_version)
    found = []
    for d in base.iterdir():
        if not d.is_dir():
            continue
        try:
            v = parse_version(d.name)
        except MomError:
            raise InvalidInput(f"迁移文件夹名 {d.name} 不是版本号（例如 1.2.0）", f"migration folder {d.name} is not a version (e.g. 1.2.0)",
                               detail={"folder": str(d)}) from None
        if lo < v <= hi:
            found.append((v, d))
    return [(str(v), d) for v, d in sorted(found, key=lambda x: x[0])]


def run(conn: Connection, root: Path, pack: str, from_version: str, to_version: str, phase: str, *,
        forms: Any, now: dt.datetime) -> list[str]:
    """Run the ``phase`` migrations of an upgrade; returns a line per file run."""
    lines = []
    for version, folder in pending(root, from_version, to_version):
        path = folder / f"{phase}.py"
        if not path.is_file():
            continue
        ctx = MigrationContext(pack, from_version, to_version, version, phase, forms, now)
        spec = importlib.util.spec_from_file_location(f"mom_pack_migration_{pack}_{version.replace('.', '_').replace('-', '_')}_{phase}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
            fn = getattr(module, "migrate", None)
            if not callable(fn):
                raise InvalidInput(f"{path} 缺少 migrate(conn, ctx) 函数", f"{path} has no migrate(conn, ctx) function")
            fn(conn, ctx)
        except MomError:
            raise
        except Exception as exc:   # noqa: BLE001 — a pack's code: reported with its place, never a traceback
            line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
            if line is None:
                frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == path.resolve()]
                line = frames[-1].lineno if frames else None
            where = f"{path}:{line}" if line else str(path)
            raise InvalidInput(f"模型包 {pack} 的 {version} 版迁移出错（{where}）：{type(exc).__name__}: {exc}；整个升级已撤销",
                               f"pack {pack}'s migration to {version} failed ({where}): {type(exc).__name__}: {exc}; "
                               "the whole upgrade was rolled back", detail={"pack": pack, "file": str(path), "line": line}) from exc
        lines.append(f"迁移 / migration {pack} {version} {phase}")
    return lines


def problems(root: Path) -> list[dict[str, str]]:
    """What is wrong with a pack's migrations folder, found without running anything (a plan shows it,
    so an author learns at the first install, not at the first upgrade)."""
    base = root / "migrations"
    out: list[dict[str, str]] = []
    if not base.is_dir():
        return out
    for d in sorted(base.iterdir()):
        if d.name.startswith(".") or d.name == "__pycache__":
            continue
        if not d.is_dir():
            out.append({"zh-CN": f"migrations/{d.name}：这里只放以版本号命名的文件夹（例如 migrations/1.2.0/post.py）",
                        "en": f"migrations/{d.name}: only folders named by a version belong here (e.g. migrations/1.2.0/post.py)"})
            continue
        try:
            parse_version(d.name)
        except MomError:
            out.append({"zh-CN": f"迁移文件夹名 {d.name} 不是版本号（例如 1.2.0）：请改名", "en": f"migration folder {d.name} is not a version (e.g. 1.2.0): rename it"})
            continue
        files = [f for f in d.iterdir() if f.suffix == ".py"]
        for f in files:
            if f.stem not in PHASES:
                out.append({"zh-CN": f"migrations/{d.name}/{f.name}：只有 pre.py 和 post.py 会运行", "en": f"migrations/{d.name}/{f.name}: only pre.py and post.py run"})
            elif "def migrate" not in f.read_text(encoding="utf-8", errors="replace"):
                out.append({"zh-CN": f"migrations/{d.name}/{f.name} 缺少 migrate(conn, ctx) 函数", "en": f"migrations/{d.name}/{f.name} has no migrate(conn, ctx) function"})
    return out
