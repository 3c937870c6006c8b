"""Lot and serial numbering rules (批次号规则): an item's ``lot_rule`` pattern, checked and rendered.

A rule is text with placeholders in braces::

    {code}-{yyyyMMdd}-{seq:3}     RM-HT250-20261203-001   (the default, when the item has no rule)
    LV{yyMM}{seq:4}               LV26120001
    {heat_number}-{seq:2}         H2311-01                (numbered per heat number)

- ``{code}``: the item's code; ``{heat_number}`` 炉号 and ``{supplier_lot}`` 供应商批号: the receipt
  line's lot attributes (the line must give them);
- date parts, the plant's date when the lot is made: ``{yyyy} {yy} {MM} {dd} {yyyyMMdd} {yyMMdd}
  {yyyyMM} {yyMM}``;
- ``{seq:N}``: exactly one, the sequence zero-filled to N digits (1–9).

The sequence is per item and restarts with the finest date part of the rule (a day for ``{dd}``, a
month for ``{MM}``, a year for ``{yy}``; never without a date part) and, when the rule uses lot
attributes, per value of them (each heat number has its own 01, 02 …). Numbers are reserved with
:func:`mom.engines.records.autonumber.next_numbers` (one atomic statement: concurrent receipts never
get the same number). A number that an item's lot already carries (a rule changed back and forth, a
lot typed in by hand) is skipped.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms import autonumber as AN
from mom.engines.records.autonumber import next_numbers
from mom.platform.errors import InvalidInput, Problem

DEFAULT_RULE = "{code}-{yyyyMMdd}-{seq:3}"
TOKEN = re.compile(r"\{([A-Za-z_]+)(?::(\d+))?\}")
DATE_TOKENS = {k: v for k, v in AN.DATE_TOKENS.items() if k != "HH"}
ATTR_TOKENS = {"heat_number": ("炉号", "heat number"), "supplier_lot": ("供应商批号", "supplier lot")}
MAX_RULE = 60
MAX_NUMBER = 64          # the lot form's number field
_MAX_SEQ_WIDTH = 9
_TOKENS_ZH = "{code} 物料编码、{heat_number} 炉号、{supplier_lot} 供应商批号、日期 {yyyy} {yy} {MM} {dd} {yyyyMMdd} {yyMMdd} {yyyyMM} {yyMM}、流水号 {seq:N}"
_TOKENS_EN = "{code}, {heat_number}, {supplier_lot}, dates {yyyy} {yy} {MM} {dd} {yyyyMMdd} {yyMMdd} {yyyyMM} {yyMM}, {seq:N}"


def check(rule: str) -> tuple[str, str] | None:
    """What is wrong with ``rule`` as (zh, en), naming the bad placeholder; None when it is a valid rule."""
    if len(rule) > MAX_RULE:
        return (f"批次号规则最长 {MAX_RULE} 个字符", f"a lot numbering rule is at most {MAX_RULE} characters")
    seqs = 0
    for m in TOKEN.finditer(rule):
        name, width = m.group(1), m.group(2)
        if name == "seq":
            seqs += 1
            if width is None or not 1 <= int(width) <= _MAX_SEQ_WIDTH:
                return (f"「{m.group(0)}」要写成 {{seq:N}}，N 是 1 到 {_MAX_SEQ_WIDTH} 的位数，例如 {{seq:3}}",
                        f"'{m.group(0)}' must be {{seq:N}} with N digits from 1 to {_MAX_SEQ_WIDTH}, e.g. {{seq:3}}")
        elif name not in DATE_TOKENS and name not in ATTR_TOKENS and name != "code":
            return (f"不认识占位符「{m.group(0)}」；可用：{_TOKENS_ZH}", f"unknown placeholder '{m.group(0)}'; use {_TOKENS_EN}")
        elif width is not None:
            return (f"占位符「{m.group(0)}」不带位数；只有 {{seq:N}} 带位数", f"placeholder '{m.group(0)}' takes no width; only {{seq:N}} does")
    leftover = TOKEN.sub("", rule)
    if "{" in leftover or "}" in leftover:
        bad = re.search(r"\{[^{}]*\}?|\}", leftover)
        text = bad.group(0) if bad else "{"
        return (f"「{text}」不是完整的占位符：花括号要成对，如 {{yyyyMMdd}}；可用：{_TOKENS_ZH}",
                f"'{text}' is not a whole placeholder: braces come in pairs, e.g. {{yyyyMMdd}}; use {_TOKENS_EN}")
    if seqs != 1:
        return ("批次号规则要有且只有一个流水号 {seq:N}，例如 {code}-{yyyyMMdd}-{seq:3}",
                "a lot numbering rule has exactly one {seq:N}, e.g. {code}-{yyyyMMdd}-{seq:3}")
    if any(c.isspace() for c in leftover):
        return ("批次号规则里不能有空格", "a lot numbering rule has no spaces")
    return None


def require_valid(rule: Any, path: str = "/lot_rule") -> None:
    """Refuse an invalid rule in words (the field's path named); empty is the default rule."""
    if rule is None or str(rule).strip() == "":
        return
    problem = check(str(rule))
    if problem is not None:
        zh, en = problem
        raise InvalidInput(f"批次号规则「{rule}」有误：{zh}", f"lot numbering rule '{rule}' is invalid: {en}",
                           problems=[Problem(path, zh, en, "lot_rule")])


def rule_of(item: Mapping[str, Any]) -> str:
    """The item's rule (its ``lot_rule``, else :data:`DEFAULT_RULE`)."""
    rule = str(item.get("lot_rule") or "").strip()
    return rule or DEFAULT_RULE


def _attrs(rule: str, item: Mapping[str, Any], attrs: Mapping[str, Any] | None, path: str) -> dict[str, str]:
    values: dict[str, str] = {"code": str(item.get("code") or f"I{item['id']}")}
    for name in {m.group(1) for m in TOKEN.finditer(rule)} & set(ATTR_TOKENS):
        value = str((attrs or {}).get(name) or "").strip()
        if not value:
            zh, en = ATTR_TOKENS[name]
            raise InvalidInput(f"物料「{item.get('name') or values['code']}」的批次号规则「{rule}」用到{zh}：请填写{zh}，或直接填写批号",
                               f"the lot numbering rule '{rule}' of item {values['code']} uses the {en}: enter the {en}, or "
                               "enter the lot number", problems=[Problem(f"{path}/{name}", f"请填写{zh}", f"enter the {en}", "required")])
        values[name] = value
    return values


def period(rule: str, at: dt.datetime, values: Mapping[str, str]) -> str:
    """The sequence's period: the finest date part (:func:`mom.engines.forms.autonumber.period_of`),
    then a digest of the lot attributes the rule uses (fits the 32 characters of ``mom_sequence.period``)."""
    out = AN.period_of(rule, at)
    used = sorted({m.group(1) for m in TOKEN.finditer(rule)} & set(ATTR_TOKENS))
    if used:
        out += "|" + hashlib.sha1("\x1f".join(values[k] for k in used).encode()).hexdigest()[:16]
    return out


def render(rule: str, at: dt.datetime, seq: int, values: Mapping[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        name, width = m.group(1), m.group(2)
        if name == "seq":
            return str(seq).zfill(int(width))
        if name in DATE_TOKENS:
            return at.strftime(DATE_TOKENS[name])
        return values[name]

    return TOKEN.sub(sub, rule)


def preview(rule: str, at: dt.datetime, item: Mapping[str, Any], attrs: Mapping[str, Any] | None = None) -> str:
    """What the first number of ``rule`` looks like (the field's help, the docs): sequence 1."""
    values = {"code": str(item.get("code") or "ITEM"), **{k: str((attrs or {}).get(k) or k.upper()) for k in ATTR_TOKENS}}
    return render(rule, at, 1, values)


def numbers(conn: Connection, lot_table: sa.Table | None, at: dt.datetime, item: Mapping[str, Any], count: int, *,
            attrs: Mapping[str, Any] | None = None, path: str = "/lines/0") -> list[str]:
    """``count`` new numbers for ``item`` by its rule, at local time ``at``; ``attrs``: the lot's
    heat_number / supplier_lot when the rule uses them (refused in words when missing); ``lot_table``:
    the lot form's table, to skip numbers its lots already carry (None: not checked)."""
    if count <= 0:
        return []
    rule = rule_of(item)
    problem = check(rule)
    if problem is not None:     # a rule stored before the check existed, or written around it
        rule = DEFAULT_RULE
    values = _attrs(rule, item, attrs, path)
    name, per = f"lot.{int(item['id'])}", period(rule, at, values)
    out: list[str] = []
    for _ in range(20):          # a collision with an existing lot is rare: reserve again for the ones taken
        wanted = [render(rule, at, n, values) for n in next_numbers(conn, name, per, count - len(out))]
        long = next((w for w in wanted if len(w) > MAX_NUMBER), None)
        if long is not None:
            raise InvalidInput(f"按批次号规则「{rule}」生成的批号「{long}」超过 {MAX_NUMBER} 个字符：请缩短规则或炉号",
                               f"lot number '{long}' from rule '{rule}' is longer than {MAX_NUMBER} characters: shorten the rule",
                               problems=[Problem(path, "批号太长", "lot number too long", "too_long")])
        taken = set() if lot_table is None else set(conn.execute(
            sa.select(lot_table.c.number).where(lot_table.c.item == int(item["id"]), lot_table.c.number.in_(wanted))).scalars())
        out += [w for w in wanted if w not in taken]
        if len(out) >= count:
            return out[:count]
    raise InvalidInput(f"批次号规则「{rule}」生成的批号都已被占用：请修改物料的批次号规则", f"every number rule '{rule}' makes is taken: "
                       "change the item's lot numbering rule", problems=[Problem(path, "批号已被占用", "numbers taken", "lot_rule")])
