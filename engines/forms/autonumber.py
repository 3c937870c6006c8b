"""Auto-number patterns such as ``IQC-{yyyyMMdd}-{seq:4}``: date parts and a per-period sequence."""
from __future__ import annotations

import datetime as dt
import re

TOKEN = re.compile(r"\{([A-Za-z]+)(?::(\d+))?\}")
DATE_TOKENS = {"yyyy": "%Y", "yy": "%y", "MM": "%m", "dd": "%d", "yyyyMMdd": "%Y%m%d", "yyMMdd": "%y%m%d",
               "yyyyMM": "%Y%m", "yyMM": "%y%m", "HH": "%H"}


def check_pattern(pattern: str) -> tuple[str, str] | None:
    """Return (zh, en) describing what is wrong with ``pattern``, or None when it is valid."""
    seqs = 0
    for m in TOKEN.finditer(pattern):
        name, width = m.group(1), m.group(2)
        if name == "seq":
            seqs += 1
            if width is None or not 1 <= int(width) <= 12:
                return ("{seq:N} 需要 1 到 12 的宽度", "{seq:N} needs a width from 1 to 12")
        elif name not in DATE_TOKENS:
            return (f"未知占位符 {{{name}}}，可用：{', '.join(DATE_TOKENS)}, seq:N",
                    f"unknown placeholder {{{name}}}; use {', '.join(DATE_TOKENS)} or seq:N")
    leftover = TOKEN.sub("", pattern)
    if "{" in leftover or "}" in leftover:
        return ("花括号不成对", "unbalanced braces")
    if seqs != 1:
        return ("编号规则必须恰好包含一个 {seq:N}", "the pattern must contain exactly one {seq:N}")
    return None


def period_of(pattern: str, at: dt.datetime) -> str:
    """The sequence period: the finest date part in the pattern (the sequence restarts per period)."""
    names = {m.group(1) for m in TOKEN.finditer(pattern)}
    if names & {"HH"}:
        return at.strftime("%Y%m%d%H")
    if names & {"dd", "yyyyMMdd", "yyMMdd"}:
        return at.strftime("%Y%m%d")
    if names & {"MM", "yyyyMM", "yyMM"}:
        return at.strftime("%Y%m")
    if names & {"yyyy", "yy"}:
        return at.strftime("%Y")
    return "all"


def render(pattern: str, at: dt.datetime, seq: int) -> str:
    def sub(m: re.Match[str]) -> str:
        name, width = m.group(1), m.group(2)
        if name == "seq":
            return str(seq).zfill(int(width))
        return at.strftime(DATE_TOKENS[name])

    return TOKEN.sub(sub, pattern)
