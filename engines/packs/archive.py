"""Pack archives: a pack folder as a ``.zip`` (``pack_zip``) and an uploaded ``.zip`` back into a pack
folder under ``<data dir>/packs/<name>/`` (``unpack``).

An uploaded zip is untrusted input. ``unpack`` refuses it whole, writing nothing, when it is not a zip,
holds too many files, unpacks to more bytes than allowed (counted while extracting: the sizes in the zip's
own directory are not believed), names a path that is absolute, climbs out with ``..``, is too long or a
symbolic link, carries Python code (``hooks.py``, migrations) while the server does not accept code from
uploads, has no valid ``pack.json`` at its root or in its one top folder, holds a JSON file that cannot be
read (malformed, too big, nested too deeply), or is refused by the caller's ``accept`` (a name that is
a built-in pack's, a version below the installed one). It extracts into a temporary folder beside the
destination and checks it there, and only then swaps it in, so an earlier upload of the same pack is
replaced whole or not at all.
"""
from __future__ import annotations

import io
import os
import shutil
import stat
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import IO, Any

from mom.engines.packs import catalog, state
from mom.engines.packs.catalog import PackSource
from mom.engines.packs.jsonfile import read_json
from mom.engines.packs.loader import PACK_NAME
from mom.engines.packs.manifest import PACK_FILE, parse_version, read_manifest
from mom.platform.db.engine import read_tx
from mom.platform.errors import InvalidInput, Problem, TooLarge

MAX_PATH_CHARS = 240
#: files that make a pack code (run by the server): refused in an upload unless the server allows it
CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyd", ".so", ".dll")
#: what zip tools add on their own; left out silently
_JUNK_TOP = ("__MACOSX",)
_JUNK_NAMES = (".DS_Store", "Thumbs.db")
_CHUNK = 1 << 20
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


# ---------------------------------------------------------------- writing
def pack_zip(root: Path) -> bytes:
    """The folder ``root`` as a zip (its files at the zip's root), in a fixed order with fixed times, so
    the same folder always gives the same bytes. Hidden files and ``__pycache__`` are left out."""
    root = Path(root)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for rel, path in _folder_files(root):
            info = zipfile.ZipInfo(rel, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            zf.writestr(info, path.read_bytes())
    return buf.getvalue()


def _folder_files(root: Path) -> Iterable[tuple[str, Path]]:
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in sorted(names):
            path = Path(folder) / name
            if name.startswith(".") or name.endswith(".pyc") or not path.is_file() or path.is_symlink():
                continue
            yield path.relative_to(root).as_posix(), path


# ---------------------------------------------------------------- reading
def unpack(data: bytes | IO[bytes], dest_root: Path, *, allow_code: bool, max_bytes: int, max_files: int,
           max_compressed: int | None = None, accept: Callable[[PackSource], None] | None = None) -> PackSource:
    """Check the zip ``data`` and store the pack it holds as ``dest_root/<name>/`` (replacing an earlier
    upload of that name); returns the stored pack. ``max_bytes``: all files unpacked; ``max_files``: entries
    in the zip; ``max_compressed``: the zip itself; ``accept``: called with the checked pack (still in its
    temporary folder) before it is stored, raising to refuse it. Anything wrong: ``InvalidInput`` /
    ``TooLarge``, nothing stored."""
    stream: IO[bytes] = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    if max_compressed is not None:
        stream.seek(0, os.SEEK_END)
        size = stream.tell()
        if size > max_compressed:
            raise TooLarge(f"压缩包超过 {_mb(max_compressed)}；模型包不应这么大，请检查是否打包了多余的文件",
                           f"the zip is larger than {_mb(max_compressed)}; a pack should not be this big: check for stray files")
    stream.seek(0)
    try:
        zf = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise InvalidInput("上传的文件不是有效的 zip 压缩包：请上传模型包文件夹打成的 .zip（例如导出得到的文件）",
                           f"the uploaded file is not a valid zip ({exc}): upload a .zip of a pack folder (as export makes)") from None
    with zf:
        members = _checked_members(zf, max_files=max_files)
        prefix = _pack_prefix(members)
        chosen = [(info, rel[len(prefix):]) for info, rel in members if rel.startswith(prefix) and rel[len(prefix):]]
        if not allow_code:
            _refuse_code([rel for _, rel in chosen])
        dest_root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".upload-", dir=dest_root))
        try:
            _extract(zf, chosen, work, max_bytes=max_bytes)
            manifest = read_manifest(work)
            name = str(manifest["name"])
            if not PACK_NAME.fullmatch(name):   # the manifest checks it; the name becomes a folder, so check again
                raise InvalidInput(f"模型包名称 {name!r} 不合规：须为小写字母开头的小写字母、数字、下划线",
                                   f"pack name {name!r} is not valid: lower-case letters, digits and _ starting with a letter")
            candidate = PackSource(work, manifest, "uploaded")
            str(candidate.version)
            _check_json_files(work)
            if accept is not None:
                accept(candidate)
            final = _swap_in(work, dest_root / name)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    return PackSource(final, manifest, "uploaded")


def _check_json_files(work: Path) -> None:
    """Every ``.json`` file of the unpacked pack reads (bounded: size, nesting); all problems at once."""
    problems: list[Problem] = []
    for path in sorted(work.rglob("*.json")):
        if path.is_file():
            try:
                read_json(path, path.relative_to(work).as_posix())
            except InvalidInput as exc:
                problems.extend(exc.problems)
    if problems:
        first = problems[0]
        more = len(problems) - 1
        raise InvalidInput(f"文件 {first.path} {first.zh}" + (f"（另有 {more} 个文件有问题）" if more else "") + "；未保存任何文件",
                           f"file {first.path} {first.en}" + (f" ({more} more file(s) with problems)" if more else "")
                           + "; nothing was stored", problems=problems[:50])


def _mb(n: int) -> str:
    return f"{n / 1048576:.0f} MB" if n >= 1048576 else f"{n} bytes"


def _checked_members(zf: zipfile.ZipFile, *, max_files: int) -> list[tuple[zipfile.ZipInfo, str]]:
    """(entry, its safe relative posix path) of every file entry; refuses the zip on any unsafe name."""
    infos = zf.infolist()
    if len(infos) > max_files:
        raise TooLarge(f"压缩包里有 {len(infos)} 个文件，超过上限 {max_files}：请只打包模型包文件夹本身",
                       f"the zip holds {len(infos)} entries, more than {max_files}: zip the pack folder alone")
    problems: list[Problem] = []
    out: list[tuple[zipfile.ZipInfo, str]] = []
    for info in infos:
        name = info.filename.replace("\\", "/")
        why = _unsafe(name, info)
        if why is not None:
            shown = name[:100]
            problems.append(Problem(f"/{shown}", f"文件 {shown}：{why[0]}", f"file {shown}: {why[1]}", "unsafe_path"))
            continue
        parts = PurePosixPath(name).parts
        if info.is_dir() or parts[0] in _JUNK_TOP or parts[-1] in _JUNK_NAMES:
            continue
        out.append((info, "/".join(parts)))
    if problems:
        raise InvalidInput("压缩包里有不安全的文件路径，未保存任何文件：" + problems[0].zh + (f" 等 {len(problems)} 处" if len(problems) > 1 else ""),
                           "the zip has unsafe file paths, nothing was stored: " + problems[0].en
                           + (f" and {len(problems) - 1} more" if len(problems) > 1 else ""), problems=problems[:50])
    return out


def _unsafe(name: str, info: zipfile.ZipInfo) -> tuple[str, str] | None:
    if not name or "\x00" in name:
        return ("文件名为空或含有 NUL 字符", "an empty name or a NUL character")
    if len(name) > MAX_PATH_CHARS:
        return (f"路径太长（超过 {MAX_PATH_CHARS} 个字符）", f"the path is longer than {MAX_PATH_CHARS} characters")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return ("是绝对路径；压缩包里只能有相对路径", "an absolute path; a pack zip holds relative paths only")
    parts = name.rstrip("/").split("/")
    if any(p in ("..", "") for p in parts):
        return ("路径含有 .. 或空的部分，会写到模型包文件夹之外", "the path has '..' or an empty part and would leave the pack folder")
    if stat.S_ISLNK(info.external_attr >> 16):
        return ("是符号链接；模型包里只能有普通文件", "a symbolic link; a pack holds plain files only")
    return None


def _pack_prefix(members: list[tuple[zipfile.ZipInfo, str]]) -> str:
    """``""`` when ``pack.json`` is at the zip's root, ``"<top>/"`` when every file is in one top folder
    that holds it; otherwise the zip is not a pack."""
    names = {rel for _, rel in members}
    if PACK_FILE in names:
        return ""
    tops = {rel.split("/", 1)[0] for rel in names}
    if len(tops) == 1:
        top = next(iter(tops))
        if f"{top}/{PACK_FILE}" in names:
            return f"{top}/"
    raise InvalidInput(f"压缩包里没有 {PACK_FILE}：它应在压缩包的根目录，或在唯一的一个顶层文件夹里；请把模型包文件夹整体打包",
                       f"the zip has no {PACK_FILE} at its root nor in its one top folder: zip the pack folder itself")


def _refuse_code(rels: list[str]) -> None:
    code = [rel for rel in rels if rel.lower().endswith(CODE_SUFFIXES)]
    if code:
        shown = "、".join(code[:5]) + (f" 等 {len(code)} 个" if len(code) > 5 else "")
        raise InvalidInput(f"模型包含有程序代码（{shown}），本服务器不接受上传带代码的模型包：请让管理员把它放到服务器的模型包目录"
                           "（MOM_PACK_PATH），或开启 MOM_PACK_UPLOAD_CODE 后再上传——只安装可信的代码",
                           f"the pack contains code ({', '.join(code[:5])}{' …' if len(code) > 5 else ''}); this server does not "
                           "accept packs with code by upload: put it in a pack folder on the server (MOM_PACK_PATH), or enable "
                           "MOM_PACK_UPLOAD_CODE — install trusted code only",
                           problems=[Problem(f"/{rel}", "程序代码", "code", "code_not_allowed") for rel in code[:50]],
                           detail={"code_files": code[:50]})


def _extract(zf: zipfile.ZipFile, chosen: list[tuple[zipfile.ZipInfo, str]], work: Path, *, max_bytes: int) -> None:
    total = 0
    for info, rel in chosen:
        target = work.joinpath(*rel.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with zf.open(info) as src, open(target, "xb") as out:
                while chunk := src.read(_CHUNK):
                    total += len(chunk)
                    if total > max_bytes:
                        raise TooLarge(f"解压后超过 {_mb(max_bytes)}，未保存任何文件：模型包不应这么大",
                                       f"the zip unpacks to more than {_mb(max_bytes)}; nothing was stored: a pack should not be this big")
                    out.write(chunk)
        except FileExistsError:
            raise InvalidInput(f"压缩包里文件 {rel} 出现了两次", f"the zip holds file {rel} twice") from None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, OSError, EOFError) as exc:
            raise InvalidInput(f"压缩包里的文件 {rel} 无法解压（可能已损坏或加了密码）：请重新打包后上传",
                               f"file {rel} in the zip cannot be unpacked ({exc}): zip the pack again and upload it") from None


def _swap_in(work: Path, final: Path) -> Path:
    """Put the extracted folder at ``final``; an earlier folder there is moved aside first, then removed."""
    old = None
    if final.exists():
        old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
        final.rename(old)
    try:
        work.rename(final)
    except OSError:
        if old is not None:
            old.rename(final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return final


def check_upload(src: PackSource, engine: Any, settings: Any) -> None:
    """Refuse (before anything is stored) an upload that would shadow a pack of the server (built in or
    on MOM_PACK_PATH: an upload must not replace what an administrator put there), or replace the files
    of an installed pack with a lower version."""
    for other in catalog.all_sources(settings):
        if other.name == src.name and other.origin in ("builtin", "path"):
            where = ("系统自带的模型包", "the built-in pack") if other.origin == "builtin" else ("服务器模型包目录里的模型包", "the pack on the server's MOM_PACK_PATH")
            raise InvalidInput(f"{where[0]} {src.name} 不能用上传的替换；请给上传的包换一个名称",
                               f"{where[1]} {src.name} cannot be replaced by an upload; give the uploaded pack another name",
                               problems=[Problem("/file", f"名称 {src.name} 已被{where[0]}使用", f"the name {src.name} is {where[1]}'s",
                                                 "reserved_name")], detail={"name": src.name, "origin": other.origin})
    with read_tx(engine) as conn:
        row = state.packs(conn).get(src.name)
    if row is None:
        return
    uploads = (Path(settings.data_dir) / "packs").resolve()
    source = Path(row.get("source") or "").resolve()
    if row.get("source") and source != uploads / src.name and uploads not in source.parents:
        raise InvalidInput(f"模型包 {src.name} 是从服务器上的文件夹 {row['source']} 安装的，不能用上传的替换；请给上传的包换一个名称",
                           f"pack {src.name} was installed from the server folder {row['source']}; an upload cannot replace it: "
                           "give the uploaded pack another name",
                           problems=[Problem("/file", f"名称 {src.name} 已被服务器上的模型包使用", f"the name {src.name} is a server pack's",
                                             "reserved_name")], detail={"name": src.name, "source": row["source"]})
    if row["status"] != state.INSTALLED:
        return
    try:
        same = parse_version(row["version"]) == src.version
    except InvalidInput:
        same = False
    if same and row.get("checksums"):
        from mom.engines.packs import checksums

        now = {k: v for k, v in checksums.compute(src.root).items() if k != "CHECKSUMS.sha256"}
        was = {k: v for k, v in row["checksums"].items() if k != "CHECKSUMS.sha256"}
        if now != was:
            raise InvalidInput(f"已安装 {src.name} {row['version']}，上传的同一版本内容却不同：请提高版本号（例如 {src.version.major}.{src.version.minor}.{src.version.patch + 1}）再上传",
                               f"{src.name} {row['version']} is installed and this upload of the same version differs from it: "
                               "raise the version and upload again",
                               problems=[Problem("/file", "版本号相同但内容不同", "same version, other content", "same_version")],
                               detail={"name": src.name, "version": str(src.version)})
    try:
        higher = parse_version(row["version"]) > src.version
    except InvalidInput:
        return
    if higher:
        raise InvalidInput(f"已安装 {src.name} {row['version']}，不能用更低的版本 {src.version} 替换它的文件；请上传 {row['version']} 或更高的版本",
                           f"{src.name} {row['version']} is installed: its files cannot be replaced by the lower version {src.version}; "
                           f"upload {row['version']} or higher",
                           problems=[Problem("/file", f"版本 {src.version} 低于已安装的 {row['version']}",
                                             f"version {src.version} is below the installed {row['version']}", "downgrade")],
                           detail={"name": src.name, "installed_version": row["version"], "version": str(src.version)})
