"""Reading a pack's JSON files (``pack.json``, forms, workflows …) with bounds.

A pack may come from an upload, so its JSON is untrusted: ``read_json`` refuses a file larger than
``MAX_BYTES`` or nested deeper than ``MAX_DEPTH`` (a file of 100,000 ``[`` would otherwise exhaust the
stack of the JSON parser, or of every later step that walks the definition), as well as malformed JSON
and a file that cannot be read, each an ``InvalidInput`` naming the file (``forms/a.json``) and saying
what to do. Every reader of pack JSON files goes through it.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mom.platform.errors import InvalidInput, Problem

#: deepest nesting of lists and objects a pack's JSON file may have (a form needs about 8)
MAX_DEPTH = 64
#: largest pack JSON file read (a pack's definitions are far smaller)
MAX_BYTES = 8 * 1024 * 1024


def read_json(path: Path, shown: str | None = None) -> Any:
    """The parsed JSON file ``path`` (``shown``: its name in messages, e.g. ``forms/a.json``);
    too big, too deep, malformed or unreadable: ``InvalidInput`` with one problem at ``shown``."""
    shown = shown or Path(path).name
    try:
        size = Path(path).stat().st_size
        if size > MAX_BYTES:
            raise _refused(shown, f"太大（{size // 1048576} MB，最多 {MAX_BYTES // 1048576} MB）：模型包里的定义文件不应这么大",
                           f"is too big ({size // 1048576} MB, at most {MAX_BYTES // 1048576} MB): a pack's definition file "
                           "should not be this big", "too_large")
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _refused(shown, f"无法读取（{type(exc).__name__}）：请检查文件是否存在、是否为 UTF-8 编码",
                       f"cannot be read ({exc}): check that it exists and is UTF-8 text", "io") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _refused(shown, f"不是合法的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）：{exc.msg}",
                       f"has malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", "json") from None
    except RecursionError:
        raw = None
        too_deep = True
    else:
        too_deep = depth(raw) > MAX_DEPTH
    if too_deep:
        raise _refused(shown, f"嵌套层数太多（最多 {MAX_DEPTH} 层）：请检查文件内容是否正确",
                       f"is nested too deeply (at most {MAX_DEPTH} levels): check its content", "too_deep")
    return raw


def depth(value: Any) -> int:
    """How deeply lists and objects nest in ``value`` (a scalar 0, ``[]`` 1, ``[[1]]`` 2); without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            v = list(v.values())
        if isinstance(v, list):
            deepest = max(deepest, d + 1)
            if deepest > MAX_DEPTH:
                return deepest
            stack.extend((x, d + 1) for x in v if isinstance(x, (list, dict)))
    return deepest


def _refused(shown: str, zh: str, en: str, code: str) -> InvalidInput:
    return InvalidInput(f"文件 {shown} {zh}", f"file {shown} {en}", problems=[Problem(shown, zh, en, code)],
                        detail={"file": shown})
