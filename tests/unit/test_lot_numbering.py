"""The lot numbering rule parser (批次号规则) and the lot label's scan text, without a database."""
from __future__ import annotations

import datetime as dt

import pytest

from mom.engines.inventory import labels, numbering
from mom.platform.errors import InvalidInput

AT = dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
VALUES = {"code": "RM-HT250", "heat_number": "H2311", "supplier_lot": "AG-7781"}


@pytest.mark.parametrize("rule, seq, out", [
    (numbering.DEFAULT_RULE, 1, "RM-HT250-20261203-001"),
    ("LV{yyMM}{seq:4}", 12, "LV26120012"),
    ("{heat_number}-{seq:2}", 3, "H2311-03"),
    ("{code}/{supplier_lot}/{yyyy}-{MM}-{dd}/{seq:1}", 7, "RM-HT250/AG-7781/2026-12-03/7"),
    ("SN{yy}{seq:5}", 123456, "SN26123456"),      # past its width: longer, never cut
])
def test_a_rule_renders_its_placeholders(rule: str, seq: int, out: str) -> None:
    assert numbering.check(rule) is None
    assert numbering.render(rule, AT, seq, VALUES) == out


@pytest.mark.parametrize("rule, period", [
    ("{code}-{yyyyMMdd}-{seq:3}", "20261203"), ("LV{yyMM}{seq:4}", "202612"), ("Y{yy}{seq:4}", "2026"), ("F{seq:3}", "all"),
])
def test_the_sequence_restarts_with_the_finest_date_part(rule: str, period: str) -> None:
    assert numbering.period(rule, AT, VALUES) == period


def test_a_rule_with_the_heat_number_counts_per_heat_within_32_characters() -> None:
    one = numbering.period("{heat_number}-{yyyyMMdd}-{seq:2}", AT, VALUES)
    other = numbering.period("{heat_number}-{yyyyMMdd}-{seq:2}", AT, {**VALUES, "heat_number": "H" * 64})
    assert one.startswith("20261203|") and one != other and len(other) <= 32


@pytest.mark.parametrize("rule, named", [
    ("{code}-{yyyymmdd}-{seq:3}", "不认识占位符「{yyyymmdd}」"),
    ("{code}-{yyyyMMdd}", "有且只有一个流水号"),
    ("{seq:2}-{seq:3}", "有且只有一个流水号"),
    ("LV{yyMM}{seq}", "「{seq}」要写成 {seq:N}"),
    ("LV{yyMM}{seq:0}", "「{seq:0}」要写成 {seq:N}"),
    ("LV{yyMM}{seq:12}", "「{seq:12}」要写成 {seq:N}"),
    ("{code:3}-{seq:3}", "「{code:3}」不带位数"),
    ("{code}-{yyyyMMdd-{seq:3}", "「{yyyyMMdd-」不是完整的占位符"),
    ("{code}}-{seq:3}", "「}」不是完整的占位符"),
    ("{code} {seq:3}", "不能有空格"),
    ("X" * 61 + "{seq:3}", "最长 60 个字符"),
])
def test_a_bad_rule_is_described_naming_what_is_wrong(rule: str, named: str) -> None:
    problem = numbering.check(rule)
    assert problem is not None and named in problem[0] and problem[1]
    with pytest.raises(InvalidInput) as err:
        numbering.require_valid(rule)
    assert named in err.value.zh and err.value.problems[0].path == "/lot_rule"


def test_an_empty_rule_is_the_default() -> None:
    numbering.require_valid("")
    numbering.require_valid(None)
    assert numbering.rule_of({"lot_rule": "  "}) == numbering.DEFAULT_RULE
    assert numbering.rule_of({"lot_rule": "LV{yyMM}{seq:4}"}) == "LV{yyMM}{seq:4}"


@pytest.mark.parametrize("code, number", [("RM-HT250", "RM-HT250-20261203-001"), ("A:B%C", "L:1"), ("阀体", "批-01")])
def test_the_scan_text_reads_back_as_item_code_and_lot_number(code: str, number: str) -> None:
    text = labels.scan_text(code, number)
    assert text.startswith("LOT:") and labels.parse(text) == (code, number)
    assert labels.parse("lot:" + text[4:]) == (code, number)          # a scanner with caps lock


@pytest.mark.parametrize("text", ["RM-HT250", "LOT:", "LOT:RM-HT250", "LOT::L1", "LOT:RM:", "LOT:" + "x" * 300, ""])
def test_anything_else_is_a_bare_code(text: str) -> None:
    assert labels.parse(text) is None
