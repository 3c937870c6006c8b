"""A pack folder's file checksums: ``CHECKSUMS.sha256`` beside ``pack.json`` (the ``sha256sum`` format,
``<hex>  <relative/path>`` per file, sorted, itself left out), and which files differ from it.

The pack manager records the checksums of what it installed, so that it can tell a plant which files
of an installed pack's folder were edited since (``modified``). Regenerate a pack's file with
``mom pack checksums PATH`` after editing it. A folder is bounded (5,000 files, 50 MB a file):
anything bigger is not a pack and is refused before it is read.
"""
from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from mom.platform.errors import InvalidInput

FILE_NAME = "CHECKSUMS.sha256"
MAX_FILES = 5_000
MAX_FILE_BYTES = 50 * 1024 * 1024
_CHUNK = 1024 * 1024


def _files(root: Path) -> list[tuple[str, Path]]:
    """(posix relative path, path) of every regular file that counts, bounded."""
    out: list[tuple[str, Path]] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in sorted(names):
            if name.startswith(".") or name.endswith(".pyc"):
                continue
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            if rel == FILE_NAME:
                continue
            try:
                st = path.stat()
            except OSError:
                continue                      # a dangling link: not a file of the pack
            if not stat.S_ISREG(st.st_mode):
                continue
            if st.st_size > MAX_FILE_BYTES:
                raise InvalidInput(f"模型包文件 {rel} 太大（{st.st_size // (1024 * 1024)} MB，最多 50 MB）：请把大文件移出模型包文件夹",
                                   f"pack file {rel} is too large ({st.st_size // (1024 * 1024)} MB, at most 50 MB): "
                                   "move large files out of the pack folder")
            out.append((rel, path))
            if len(out) > MAX_FILES:
                raise InvalidInput(f"模型包文件夹 {root} 的文件超过 {MAX_FILES} 个：它不像一个模型包，请检查路径",
                                   f"pack folder {root} holds more than {MAX_FILES} files: it does not look like a pack, "
                                   "check the path")
    return out


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        read = 0
        while chunk := fh.read(_CHUNK):
            read += len(chunk)
            if read > MAX_FILE_BYTES:        # grew while being read
                raise InvalidInput(f"模型包文件 {path.name} 太大（最多 50 MB）", f"pack file {path.name} is too large (at most 50 MB)")
            h.update(chunk)
    return h.hexdigest()


def compute(root: Path) -> dict[str, str]:
    """``{relative posix path: sha256 hex}`` of every file under ``root`` except ``CHECKSUMS.sha256``,
    dot-files and dot-folders, ``__pycache__`` and ``*.pyc``."""
    root = Path(root)
    if not root.is_dir():
        raise InvalidInput(f"模型包文件夹不存在：{root}", f"no such pack folder: {root}")
    return {rel: _digest(path) for rel, path in _files(root)}


def write(root: Path) -> Path:
    """Write ``root/CHECKSUMS.sha256`` (sorted; ``sha256sum -c`` checks it) and return its path."""
    root = Path(root)
    sums = compute(root)
    target = root / FILE_NAME
    text = "".join(f"{digest}  {rel}\n" for rel, digest in sorted(sums.items()))
    tmp = target.with_name(f".{FILE_NAME}.tmp")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    tmp.replace(target)                      # never a half-written file
    return target


def read(root: Path) -> dict[str, str] | None:
    """The checksums recorded in ``root/CHECKSUMS.sha256``, or None when the pack has none; a malformed
    line is an ``InvalidInput`` naming it."""
    path = Path(root) / FILE_NAME
    if not path.is_file():
        return None
    out: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        digest, sep, rel = line.partition("  ")
        if not sep:                          # sha256sum's binary mode: "<hex> *<path>"
            digest, sep, rel = line.partition(" *")
        digest = digest.strip().lower()
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest) or not rel:
            raise InvalidInput(f"{FILE_NAME} 第 {n} 行格式不对（应为“校验值  相对路径”）：请用 mom pack checksums 重新生成",
                               f"{FILE_NAME} line {n} is malformed (expected '<sha256>  <path>'): regenerate it with "
                               "`mom pack checksums`")
        out[rel] = digest
    return out


def modified(root: Path, expected: dict[str, str]) -> dict[str, list[str]]:
    """How the folder differs from ``expected``: ``{"modified": [...], "missing": [...], "added": [...]}``
    (relative paths, each list sorted)."""
    current = compute(root)
    return {"modified": sorted(p for p in current.keys() & expected.keys() if current[p] != expected[p]),
            "missing": sorted(expected.keys() - current.keys()),
            "added": sorted(current.keys() - expected.keys())}
