"""A model pack's manifest (``pack.json``, format ``mom.pack/1``) and the semantic versions it names.

``read_manifest(root)`` reads and checks a pack folder's ``pack.json`` against the shipped JSON Schema
(``pack.schema.json``), parses its version and dependency ranges and checks that every file it lists
is in the folder; one ``InvalidInput`` lists every problem, each at a readable place
(``pack.json: 版本``, ``pack.json: 表单 第 2 项``).

Versions are ``MAJOR.MINOR.PATCH[-pre]`` (https://semver.org); ranges are the npm subset
(https://github.com/npm/node-semver): ``1.2.3``, ``=1.2.3``, ``>=1.0.0 <2.0.0`` (space: and),
``a || b`` (or), ``^1.2.3``, ``~1.2.3``, ``*``, ``1.x``, ``1.2.x``, ``1`` and ``1.2.3 - 2.3.4``. As in
npm, a pre-release version matches a range only when one of its comparators names a pre-release of
the same ``MAJOR.MINOR.PATCH`` (``^1.2.3-beta.1`` matches ``1.2.3-beta.4`` but not ``1.3.0-beta``).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from mom.engines.definitions.jsonschema import load_schema, schema_problems
from mom.engines.packs.jsonfile import read_json
from mom.platform.errors import InvalidInput, Problem, ProblemList

SCHEMA_PATH = Path(__file__).with_name("pack.schema.json")
PACK_FILE = "pack.json"

#: readable names of the manifest's keys (the place of a problem is shown with them)
PLACES: dict[str, tuple[str, str]] = {
    "format": ("格式", "format"), "name": ("名称", "name"), "version": ("版本", "version"),
    "label": ("显示名", "label"), "description": ("说明", "description"), "depends": ("依赖", "depends"),
    "forms": ("表单", "forms"), "workflows": ("审批流程", "workflows"), "rules": ("事件规则", "rules"),
    "reports": ("报表", "reports"), "dashboards": ("看板", "dashboards"), "prints": ("打印模板", "prints"),
    "roles": ("角色", "roles"), "fixtures": ("基础数据", "fixtures"), "demo": ("演示数据", "demo"),
    "form": ("表单", "form"), "file": ("文件", "file"), "key": ("键字段", "key"), "as_user": ("所属用户", "as_user"),
    "customisations": ("本厂的定制", "customisations"),
}
FILE_LISTS = ("forms", "workflows", "rules", "reports", "dashboards", "prints")
DATA_LISTS = ("fixtures", "demo")


# ---------------------------------------------------------------- versions
#: longest version text (``mom_pack.version`` is 32 characters) and most digits of MAJOR, MINOR, PATCH
MAX_VERSION_CHARS = 32
MAX_VERSION_DIGITS = 9
_NUM = r"0|[1-9]\d*"
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_PRE_ID = r"0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*"
_VERSION = re.compile(rf"^({_NUM})\.({_NUM})\.({_NUM})(?:-((?:{_PRE_ID})(?:\.(?:{_PRE_ID}))*))?$")


@functools.total_ordering
@dataclass(frozen=True)
class Version:
    """A semantic version; a pre-release sorts before its release (``1.0.0-rc.1 < 1.0.0``)."""

    major: int
    minor: int
    patch: int
    pre: tuple[int | str, ...] = ()

    @property
    def core(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def _key(self) -> tuple[Any, ...]:
        # semver 11: numeric identifiers below alphanumeric ones; a shorter set of equal prefix first
        pre = tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.pre)
        return (*self.core, 0 if self.pre else 1, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        base = f"{self.major}.{self.minor}.{self.patch}"
        return f"{base}-{'.'.join(map(str, self.pre))}" if self.pre else base


def parse_version(text: str) -> Version:
    """``"1.2.0"`` -> ``Version(1, 2, 0)``; anything else is an ``InvalidInput`` showing the text. A version
    is at most ``MAX_VERSION_CHARS`` long, each of MAJOR, MINOR and PATCH at most ``MAX_VERSION_DIGITS`` digits."""
    if isinstance(text, str) and len(text.strip()) > MAX_VERSION_CHARS:
        shown = f"{text.strip()[:20]}…"
        raise InvalidInput(f"版本号 {shown!r} 太长（{len(text.strip())} 个字符，最多 {MAX_VERSION_CHARS} 个）：请写成 1.2.0 这样的短版本号",
                           f"version {shown!r} is too long ({len(text.strip())} characters, at most {MAX_VERSION_CHARS}): "
                           "write a short version such as 1.2.0")
    m = _VERSION.fullmatch(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise InvalidInput(f"版本号 {text!r} 写法不对：应为 主版本.次版本.修订号，例如 1.2.0（预发布版可写 1.2.0-beta.1）",
                           f"version {text!r} is not valid: write MAJOR.MINOR.PATCH, e.g. 1.2.0 (a pre-release: 1.2.0-beta.1)")
    if any(len(g) > MAX_VERSION_DIGITS for g in m.group(1, 2, 3)):
        raise InvalidInput(f"版本号 {text!r} 的数字太大：主版本、次版本、修订号各最多 {MAX_VERSION_DIGITS} 位，例如 1.2.0",
                           f"version {text!r} has too large a number: MAJOR, MINOR and PATCH have at most "
                           f"{MAX_VERSION_DIGITS} digits each, e.g. 1.2.0")
    pre = tuple(int(p) if p.isdigit() else p for p in m.group(4).split(".")) if m.group(4) else ()
    return Version(int(m.group(1)), int(m.group(2)), int(m.group(3)), pre)


# ---------------------------------------------------------------- ranges
_OPS = (">=", "<=", ">", "<", "=")
_NUM9 = rf"0|[1-9]\d{{0,{MAX_VERSION_DIGITS - 1}}}"
_PARTIAL = re.compile(rf"v?(\*|x|X|{_NUM9})(?:\.(\*|x|X|{_NUM9})(?:\.(\*|x|X|{_NUM9})(?:-([0-9A-Za-z.-]+))?)?)?")

Comparator = tuple[str, Version]      # (">=", 1.2.0)
_ANY: list[Comparator] = [(">=", Version(0, 0, 0, (0,)))]
_NONE: list[Comparator] = [("<", Version(0, 0, 0, (0,)))]


@dataclass(frozen=True)
class Range:
    """A set of versions: alternatives (``||``), each a list of comparators that must all hold.
    ``str()`` gives the range as written (spaces normalised)."""

    text: str
    alternatives: tuple[tuple[Comparator, ...], ...]

    def matches(self, version: Version | str) -> bool:
        """Whether ``version`` lies in the range (pre-releases only where a comparator allows them)."""
        v = parse_version(version) if isinstance(version, str) else version
        return any(_satisfies(alt, v) for alt in self.alternatives)

    def __str__(self) -> str:
        return self.text


def _satisfies(comparators: tuple[Comparator, ...], v: Version) -> bool:
    for op, bound in comparators:
        ok = {">=": v >= bound, "<=": v <= bound, ">": v > bound, "<": v < bound, "=": v == bound}[op]
        if not ok:
            return False
    if v.pre:   # npm: a pre-release only where a comparator names a pre-release of the same x.y.z
        return any(b.pre and b.core == v.core for _, b in comparators)
    return True


def parse_range(text: str) -> Range:
    """An npm-style range (``^1.2.0``, ``>=1.0.0 <2.0.0 || 3.x``); bad text is an ``InvalidInput``."""
    if not isinstance(text, str):
        raise _bad_range(text)
    alts = []
    for part in text.split("||"):
        try:
            alts.append(tuple(_comparators(part.strip())))
        except ValueError:
            raise _bad_range(text) from None
    return Range(" || ".join(" ".join(p.split()) for p in text.split("||")).strip(), tuple(alts))


def _bad_range(text: Any) -> InvalidInput:
    return InvalidInput(f"版本范围 {text!r} 写法不对：可写 1.2.0、^1.2.0、~1.2.0、>=1.0.0 <2.0.0、1.x 或 *，几种之一用 || 连接",
                        f"version range {text!r} is not valid: write 1.2.0, ^1.2.0, ~1.2.0, >=1.0.0 <2.0.0, 1.x or *, "
                        "alternatives joined by ||")


def _comparators(part: str) -> list[Comparator]:
    hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", part)
    if hyphen:
        low, high = _partial(hyphen.group(1)), _partial(hyphen.group(2))
        return _cmp(">=", low) + _cmp("<=", high)
    tokens = re.sub(r"(>=|<=|>|<|=|\^|~)\s+", r"\1", part).split()   # ">= 1.2.0" is ">=1.2.0"
    out: list[Comparator] = []
    for tok in tokens or ["*"]:
        if tok[0] in "^~":
            out += _caret(_partial(tok[1:])) if tok[0] == "^" else _tilde(_partial(tok[1:]))
            continue
        op = next((o for o in _OPS if tok.startswith(o)), "=")
        out += _cmp(op, _partial(tok[len(op):] if tok.startswith(op) else tok))
    return out


#: a partly written version: (major, minor, patch, pre) with None where it was x, * or left out
Partial = tuple[int | None, int | None, int | None, tuple[int | str, ...]]


def _partial(text: str) -> Partial:
    m = _PARTIAL.fullmatch(text)
    if m is None:
        raise ValueError(text)
    nums: list[int | None] = []
    for g in m.group(1, 2, 3):
        nums.append(None if g is None or g in "*xX" or (nums and nums[-1] is None) else int(g))
    pre: tuple[int | str, ...] = ()
    if m.group(4):
        if nums[2] is None:
            raise ValueError(text)
        try:
            pre = parse_version(f"{nums[0]}.{nums[1]}.{nums[2]}-{m.group(4)}").pre
        except InvalidInput:
            raise ValueError(text) from None
    return (nums[0], nums[1], nums[2], pre)


def _floor(p: Partial) -> Version:
    return Version(p[0] or 0, p[1] or 0, p[2] or 0, p[3])


def _next(p: Partial) -> Version:
    """The lowest version above every version ``p`` stands for (``1.2`` -> ``1.3.0-0``)."""
    if p[1] is None:
        return Version((p[0] or 0) + 1, 0, 0, (0,))
    return Version(p[0] or 0, p[1] + 1, 0, (0,))


def _cmp(op: str, p: Partial) -> list[Comparator]:
    if p[0] is None:                    # *, x: everything (or nothing for > and <)
        return _NONE if op in (">", "<") else _ANY
    if p[2] is not None:                # a full version
        return [(op, _floor(p))]
    if op == "=":
        return [(">=", _floor(p)), ("<", _next(p))]
    if op == ">":
        return [(">=", _next(p))]
    if op == "<=":
        return [("<", _next(p))]
    return [(op, _floor(p))]            # >=1.2 -> >=1.2.0, <1.2 -> <1.2.0 (npm: <1.2.0-0)


def _tilde(p: Partial) -> list[Comparator]:
    if p[0] is None:
        return _ANY
    return [(">=", _floor(p)), ("<", _next((p[0], p[1], None, ())))]


def _caret(p: Partial) -> list[Comparator]:
    major, minor, patch, _ = p
    if major is None:
        return _ANY
    if major > 0 or minor is None:
        upper = Version(major + 1, 0, 0, (0,))
    elif minor > 0 or patch is None:
        upper = Version(0, minor + 1, 0, (0,))
    else:
        upper = Version(0, 0, patch + 1, (0,))
    return [(">=", _floor(p)), ("<", upper)]


# ---------------------------------------------------------------- the manifest
@functools.cache
def pack_schema() -> dict[str, Any]:
    """The manifest's JSON Schema (``engines/packs/pack.schema.json``)."""
    return load_schema(SCHEMA_PATH)


def place(pointer: str) -> str:
    """A JSON pointer in pack.json as a readable place: ``/fixtures/0/file`` -> ``pack.json: 基础数据 第 1 项 文件``.
    Only the manifest's own keys are translated (at the top, or in an entry of a list): a key the author
    chose (a dependency's name under ``depends``) stays as written (``pack.json: 依赖 demo``)."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    words = []
    for i, p in enumerate(parts):
        ours = i == 0 or parts[i - 1].isdigit()
        words.append(f"第 {int(p) + 1} 项" if p.isdigit() and i > 0 else PLACES.get(p, (p,))[0] if ours else p)
    return f"{PACK_FILE}: {' '.join(words)}" if words else PACK_FILE


def read_manifest(root: Path) -> dict[str, Any]:
    """The checked manifest of the pack folder ``root``; an ``InvalidInput`` lists every problem:
    the schema's, a bad version or dependency range, a listed file missing from the folder."""
    root = Path(root)
    path = root / PACK_FILE
    if not path.is_file():
        raise InvalidInput(f"文件夹 {root} 里没有 {PACK_FILE}，它不是模型包", f"{root} has no {PACK_FILE}: it is not a pack")
    raw = read_json(path, PACK_FILE)        # bounded: size and nesting
    problems = manifest_problems(raw, root)
    if problems:
        name = raw.get("name") if isinstance(raw, dict) and isinstance(raw.get("name"), str) else root.name
        name = name if len(name) <= 64 and name.isprintable() else repr(name[:64])
        raise InvalidInput(f"模型包 {name} 的 {PACK_FILE} 有 {len(problems)} 处问题，请逐条修改",
                           f"{PACK_FILE} of pack {name} has {len(problems)} problem(s); fix each", problems=problems)
    return raw


def manifest_problems(raw: Any, root: Path | None = None) -> list[Problem]:
    """Every problem of a parsed manifest, at readable places; with ``root``, listed files must exist."""
    found = ProblemList()
    schema_problems(raw, pack_schema(), found)
    problems: list[Problem] = []
    for p in (_worded(p, raw) for p in found.items):
        if (p.path, p.zh) not in {(q.path, q.zh) for q in problems}:     # a long bad version fails twice
            problems.append(p)
    if not isinstance(raw, dict):
        return problems
    bad = {p.path for p in problems}
    # JSON Schema's "pattern" searches with $ (a name ending in a newline passes): names checked whole here
    for pointer, name in [("/name", raw.get("name")), *((f"/depends/{d}", d) for d in _keys(raw.get("depends")))]:
        where = place(pointer)
        if isinstance(name, str) and where not in bad and not _NAME.fullmatch(name):
            problems.append(Problem(where, f"名称 {name!r} 不合规：只能用小写字母、数字和下划线，以字母开头",
                                    f"name {name!r} is not valid: lower-case letters, digits and _, starting with a letter", "pattern"))
            bad.add(where)
    version = raw.get("version")
    if isinstance(version, str) and place("/version") not in bad and version != version.strip():
        problems.append(Problem(place("/version"), f"版本号 {version!r} 前后有空格或换行：请删掉它们",
                                f"version {version!r} has spaces or a line break around it: remove them", "version"))
    if isinstance(raw.get("depends"), dict):
        for dep, text in raw["depends"].items():
            where = place(f"/depends/{dep}")
            if isinstance(text, str) and where not in bad:
                try:
                    parse_range(text)
                except InvalidInput as exc:
                    problems.append(Problem(where, exc.zh, exc.en, "range"))
            if dep == raw.get("name"):
                problems.append(Problem(where, "模型包不能依赖它自己；请删掉这一项", "a pack cannot depend on itself; remove this entry",
                                        "depends"))
    if root is not None:
        for pointer, rel in _listed_files(raw):
            where = place(pointer)
            if where not in bad and not (root / rel).is_file():
                problems.append(Problem(where, f"找不到文件 {rel}：请把它放进模型包文件夹，或从清单中删掉",
                                        f"file {rel} is not in the pack folder: add it or remove it from the list", "missing_file"))
    return problems


def _keys(value: Any) -> list[Any]:
    return list(value) if isinstance(value, dict) else []


def _listed_files(raw: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for key in FILE_LISTS:
        items = raw.get(key)
        if isinstance(items, list):
            out += [(f"/{key}/{i}", f) for i, f in enumerate(items) if isinstance(f, str) and _safe(f)]
    for key in DATA_LISTS:
        items = raw.get(key)
        if isinstance(items, list):
            out += [(f"/{key}/{i}/file", e["file"]) for i, e in enumerate(items)
                    if isinstance(e, dict) and isinstance(e.get("file"), str) and _safe(e["file"])]
    custom = raw.get("customisations")
    for kind, items in custom.items() if isinstance(custom, dict) else []:
        if isinstance(items, list):
            out += [(f"/customisations/{kind}/{i}", f) for i, f in enumerate(items) if isinstance(f, str) and _safe(f)]
    return out


def _safe(rel: str) -> bool:
    p = PurePosixPath(rel.replace("\\", "/"))
    return bool(rel) and not p.is_absolute() and ".." not in p.parts and not re.match(r"^[A-Za-z]:", rel)


def _worded(p: Problem, raw: Any) -> Problem:
    """A schema problem at its readable place, its message said for a manifest where the generic one misleads."""
    parts = p.path.split("/")
    where = place(p.path)
    if p.code == "required":
        m = re.fullmatch(r"'(.*)' is a required property", p.en.removeprefix("missing property: "))
        key = m.group(1) if m else ""
        zh_name = PLACES.get(key, (key,))[0]
        return Problem(where, f"缺少 {zh_name}（{key}）：请补上" if zh_name != key else f"缺少 {key}：请补上",
                       f"missing {key}: add it", "required")
    if p.path == "/version" and p.code in ("pattern", "maxLength"):
        err = parse_version_problem(raw.get("version") if isinstance(raw, dict) else None)
        return Problem(where, err[0], err[1], "version")
    if p.code == "pattern" and (parts[1:2] and parts[1] in FILE_LISTS or parts[-1:] == ["file"]):
        return Problem(where, "文件路径须是模型包文件夹内的相对路径（如 forms/a.json），不能以 / 开头，也不能含 ..",
                       "a file must be a path inside the pack folder (like forms/a.json): not absolute, no ..", "path")
    if parts[-1] in ("label", "description") and p.code == "oneOf":
        return Problem(where, "应为文字，或 {\"zh-CN\": \"中文名\", \"en\": \"English name\"}（zh-CN 必填）",
                       'expected a text or {"zh-CN": "…", "en": "…"} (zh-CN required)', "text")
    return Problem(where, p.zh, p.en, p.code)


def parse_version_problem(text: Any) -> tuple[str, str]:
    """The (zh, en) message of a bad version text."""
    try:
        parse_version(text)
    except InvalidInput as exc:
        return exc.zh, exc.en
    return "", ""
