"""GB/T 2828.1 / ISO 2859-1 tables as data: Table 1, 2-A, 2-B, 2-C equal to published copies.

Sources (also in engines/quality/tables.py): Table 2-A as printed in shared/reference/mom-domain.md
§1.3 (verified there against AQLSchemes, fjgonzalezmgt/AQLSchemesCust R/AAZ14Single.R, and CRAN
Planesmuestra); Tables 2-B and 2-C at AQL 0.65-6.5 as checked against the GB/T 2828.1-2012 PDF
pages 15-17 by an independent open TypeScript implementation; nibs.org AC-TABLE.ASC
(http://www.nibs.org/FMOC/DPW_AC/AC-TABLE.ASC, developed from MIL-STD-105E Tables I and II-A/II-B).
"""
from __future__ import annotations

import pytest

from mom.engines.quality import tables
from mom.engines.quality.sampling import code_letter, table_plan

# Table 2-A, printed form, from shared/reference/mom-domain.md §1.3 (0/1 = Ac/Re; ↑* marks R@0.015).
REFERENCE_2A = """
A | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | 0/1 | ↑ | ↓ | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 | 30/31
B | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | 0/1 | ↑ | ↓ | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 | 30/31 | 44/45
C | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | 0/1 | ↑ | ↓ | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 | 30/31 | 44/45 | ↑
D | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | 0/1 | ↑ | ↓ | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 | 30/31 | 44/45 | ↑ | ↑
E | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | 0/1 | ↑ | ↓ | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 | 30/31 | 44/45 | ↑ | ↑ | ↑
F | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | 0/1 | ↑ | ↓ | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 | ↑ | ↑ | ↑ | ↑ | ↑ | ↑
G | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | 0/1 | ↑ | ↓ | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑
H | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | 0/1 | ↑ | ↓ | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑
J | ↓ | ↓ | ↓ | ↓ | ↓ | ↓ | 0/1 | ↑ | ↓ | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑
K | ↓ | ↓ | ↓ | ↓ | ↓ | 0/1 | ↑ | ↓ | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑
L | ↓ | ↓ | ↓ | ↓ | 0/1 | ↑ | ↓ | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑
M | ↓ | ↓ | ↓ | 0/1 | ↑ | ↓ | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑
N | ↓ | ↓ | 0/1 | ↑ | ↓ | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑
P | ↓ | 0/1 | ↑ | ↓ | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑
Q | 0/1 | ↑ | ↓ | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑
R | ↑ | ↑* | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑ | ↑
"""

# Resolved plans (letter, n, Ac) at AQL 0.65 1.0 1.5 2.5 4.0 6.5 per initial letter, GB/T 2828.1-2012
# Tables 2-B and 2-C as checked against the standard's PDF (pages 16-17) by an open implementation.
GBT_2B = {
    "A": "G32/0 F20/0 E13/0 D8/0 C5/0 B3/0", "B": "G32/0 F20/0 E13/0 D8/0 C5/0 B3/0",
    "C": "G32/0 F20/0 E13/0 D8/0 C5/0 E13/1", "D": "G32/0 F20/0 E13/0 D8/0 F20/1 E13/1",
    "E": "G32/0 F20/0 E13/0 G32/1 F20/1 E13/1", "F": "G32/0 F20/0 H50/1 G32/1 F20/1 F20/2",
    "G": "G32/0 J80/1 H50/1 G32/1 G32/2 G32/3", "H": "K125/1 J80/1 H50/1 H50/2 H50/3 H50/5",
    "J": "K125/1 J80/1 J80/2 J80/3 J80/5 J80/8", "K": "K125/1 K125/2 K125/3 K125/5 K125/8 K125/12",
    "L": "L200/2 L200/3 L200/5 L200/8 L200/12 L200/18", "M": "M315/3 M315/5 M315/8 M315/12 M315/18 L200/18",
    "N": "N500/5 N500/8 N500/12 N500/18 M315/18 L200/18", "P": "P800/8 P800/12 P800/18 N500/18 M315/18 L200/18",
    "Q": "Q1250/12 Q1250/18 P800/18 N500/18 M315/18 L200/18",
    "R": "R2000/18 Q1250/18 P800/18 N500/18 M315/18 L200/18",
}
GBT_2C = {
    "A": "F8/0 E5/0 D3/0 C2/0 B2/0 A2/0", "B": "F8/0 E5/0 D3/0 C2/0 B2/0 A2/0",
    "C": "F8/0 E5/0 D3/0 C2/0 B2/0 E5/1", "D": "F8/0 E5/0 D3/0 C2/0 F8/1 E5/1",
    "E": "F8/0 E5/0 D3/0 G13/1 F8/1 E5/1", "F": "F8/0 E5/0 H20/1 G13/1 F8/1 F8/2",
    "G": "F8/0 J32/1 H20/1 G13/1 G13/2 G13/3", "H": "K50/1 J32/1 H20/1 H20/2 H20/3 H20/5",
    "J": "K50/1 J32/1 J32/2 J32/3 J32/5 J32/6", "K": "K50/1 K50/2 K50/3 K50/5 K50/6 K50/8",
    "L": "L80/2 L80/3 L80/5 L80/6 L80/8 L80/10", "M": "M125/3 M125/5 M125/6 M125/8 M125/10 L80/10",
    "N": "N200/5 N200/6 N200/8 N200/10 M125/10 L80/10", "P": "P315/6 P315/8 P315/10 N200/10 M125/10 L80/10",
    "Q": "Q500/8 Q500/10 P315/10 N200/10 M125/10 L80/10", "R": "R800/10 Q500/10 P315/10 N200/10 M125/10 L80/10",
}
SIX = ("0.65", "1.0", "1.5", "2.5", "4.0", "6.5")


def test_table_2a_is_the_reference_table_cell_by_cell():
    rows = [line.split(" | ") for line in REFERENCE_2A.strip().splitlines()]
    assert [r[0] for r in rows] == list(tables.LETTERS)
    for letter, *cells in rows:
        ours = tables.NORMAL[letter].split()
        assert len(cells) == len(ours) == 26
        for aql, printed, mine in zip(tables.AQLS, cells, ours):
            expected = printed.rstrip("*").split("/")[0]
            assert mine == expected, f"2-A {letter}@{aql}: {mine} != {printed}"
            if "/" in printed:      # Re = Ac + 1 throughout 2-A
                assert int(printed.split("/")[1]) == int(expected) + 1


@pytest.mark.parametrize("severity,expected", [("tightened", GBT_2B), ("reduced", GBT_2C)])
def test_tables_2b_2c_resolve_to_the_gbt_2828_plans(severity, expected):
    for letter, row in expected.items():
        for aql, cell in zip(SIX, row.split()):
            end, n, ac, re = table_plan(severity, letter, aql)
            assert f"{end}{n}/{ac}" == cell, f"{severity} {letter}@{aql}"
            assert re == ac + 1


def _rule(severity: str, i: int, j: int) -> str:
    """The diagonal rule that generates the printed tables (d = letter index + AQL index)."""
    zero, ups, downs, first, seq, cap = {
        "normal": (14, {15}, {16}, 17, (1, 2, 3, 5, 7, 10, 14, 21, 30, 44), 21),
        "tightened": (15, set(), {16, 17}, 18, (1, 2, 3, 5, 8, 12, 18, 27, 41), 18),
        "reduced": (14, {15}, {16, 17}, 18, (1, 2, 3, 5, 6, 8, 10, 14, 21), 10),
    }[severity]
    d = i + j
    if d < zero or d in downs:
        return "↓"
    if d == zero:
        return "0"
    if d in ups or d - first >= len(seq):
        return "↑"
    ac = seq[d - first]
    big = [x for x in seq if x > cap]       # the two largest Ac appear only from AQL 150 / 250 on
    if ac <= cap or (ac == big[0] and j >= 21) or (len(big) > 1 and ac == big[1] and j >= 22):
        return str(ac)
    return "↑"


# Cells printed differently from the diagonal rule, each with its reason.
EXCEPTIONS = {
    ("normal", "R", "0.015"): "↑",      # nothing below R: printed ↑ (mom-domain §1.3, aqlinspectorsrule /below)
    ("tightened", "A", "10"): "↑",      # nothing above A: use D (aqlinspectorsrule notes note 1; nibs.org 1-B)
    ("tightened", "R", "0.015"): "↑",   # row S holds only AQL 0.025
    ("reduced", "R", "0.015"): "↑", ("reduced", "Q", "0.025"): "↑", ("reduced", "R", "0.025"): "↑",
    **{("reduced", row, aql): ac for row in "AB"
       for aql, ac in zip(tables.AQLS[17:], ("1", "2", "3", "5", "7", "10", "14", "21", "30"))},
}


@pytest.mark.parametrize("severity", tables.SEVERITIES)
def test_generating_rule_and_data_agree(severity):
    for i, letter in enumerate(tables.LETTERS):
        for j, (aql, token) in enumerate(zip(tables.AQLS, tables.TABLES[severity][letter].split())):
            expected = EXCEPTIONS.get((severity, letter, aql), _rule(severity, i, j))
            assert token == expected, f"{severity} {letter}@{aql}: data {token}, rule {expected}"


def test_tightened_row_s_has_one_plan_reached_from_q_and_r():
    # https://www.aqlinspectorsrule.com/below: S = 3150, only at AQL 0.025, Ac 1 / Re 2.
    assert [t for t in tables.TIGHTENED["S"].split() if t != "-"] == ["1"]
    assert table_plan("tightened", "Q", "0.025") == ("S", 3150, 1, 2)
    assert table_plan("tightened", "R", "0.025") == ("S", 3150, 1, 2)


def test_table_1_code_letters_at_range_edges():
    # Rows of Table 1 (mom-domain §1.2; http://www.wisetool.com/sampling.htm).
    assert [code_letter(n, "II") for n in (2, 8, 9, 15, 16, 25, 26, 50, 51, 90, 91, 150)] == list("AABBCCDDEEFF")
    assert [code_letter(n, "II") for n in (151, 281, 501, 1201, 3201, 10001, 35001, 150001, 500001)] == list("GHJKLMNPQ")
    assert code_letter(10 ** 9, "III") == "R" and code_letter(10 ** 9, "S-1") == "D"
    assert code_letter(1000, "S-3") == "E" and code_letter(2, "III") == "B"


def test_sample_sizes_per_letter():
    assert tables.SAMPLE_SIZES["normal"]["K"] == 125 and tables.SAMPLE_SIZES["reduced"]["K"] == 50
    assert tables.SAMPLE_SIZES["tightened"]["S"] == 3150
    assert [tables.SAMPLE_SIZES["reduced"][x] for x in "ABCDR"] == [2, 2, 2, 3, 800]
