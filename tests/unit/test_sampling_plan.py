"""plan(): published worked examples of GB/T 2828.1 / ISO 2859-1 single sampling, each with its source."""
from __future__ import annotations

from decimal import Decimal

import pytest

from mom.engines.quality.sampling import SamplingError, accepted_at_tighter_aql, lot_result, plan


def test_iso_reduced_example_lot_125_level_iii_aql_1():
    # https://www.aqlinspectorsrule.com/Example-3--Differences-between-ANSI-and-ISO-versions_ep_48-1.html
    # ISO: arrows G→H→J, n=32, Ac 1 / Re 2 (ANSI would give H, n=20, 0/2 with its gap).
    p = plan(125, "1.0", "III", "reduced")
    assert (p.initial_letter, p.code_letter, p.sample_size, p.ac, p.re) == ("G", "J", 32, 1, 2)
    assert p.resolved_from == "G→H→J" and p.table == "2-C" and not p.hundred_percent
    assert "G→H→J" in p.note_zh and "32" in p.note_zh


def test_lot_500_level_ii_aql_2_5_normal():
    # http://www.nibs.org/FMOC/DPW_AC/AC-TABLE.ASC Table 1-A: lot 281-500, H, 50, AQL 2.5 reject at 4.
    p = plan(500, Decimal("2.5"))
    assert (p.code_letter, p.sample_size, p.ac, p.re, p.resolved_from) == ("H", 50, 3, 4, None)


@pytest.mark.parametrize("level,aql,n,ac", [
    ("S-4", "0.65", 80, 1), ("S-3", "0.65", 20, 0), ("S-4", "0.40", 125, 1),
    ("S-3", "0.40", 32, 0), ("S-4", "0.25", 50, 0), ("S-4", "0.15", 80, 0)])
def test_special_levels_large_lots(level, aql, n, ac):
    # Jenkins, Peck, Fernando (PLOS 2023) figure: ISO 2859-1:1999, lots 35 001-500 000, normal
    # https://plos.figshare.com/articles/figure/Operating_characteristic_curves_from_ISO_2859_1_1999_for_the_lot_size_range_of_35_001_500_000_for_various_sampling_options_AQL_inspection_level_/22583454
    for lot in (35001, 150000, 500000):
        p = plan(lot, aql, level)
        assert (p.sample_size, p.ac, p.re) == (n, ac, ac + 1)


def test_edge_cells():
    # A@10 normal prints ↑ with nothing above: use C (n=5, 1/2); tightened D (n=8, 1/2)
    # (http://aqlinspectorsrule.com/manual/notes.html note 1); R@0.015 → P (n=800, 0/1)
    # (https://www.aqlinspectorsrule.com/below); tightened Q/R@0.025 → S, n=3150, 1/2 (same page).
    assert plan(8, "10").code_letter == "C" and (plan(8, "10").ac, plan(8, "10").re) == (1, 2)
    t = plan(8, "10", severity="tightened")
    assert (t.code_letter, t.ac, t.re) == ("D", 1, 2)
    r = plan(600000, "0.015", "III")
    assert (r.initial_letter, r.code_letter, r.sample_size, r.ac, r.re) == ("R", "P", 800, 0, 1)
    s = plan(600000, "0.025", "III", "tightened")
    assert (s.code_letter, s.sample_size, s.ac, s.re) == ("S", 3150, 1, 2)


def test_hundred_percent_when_the_sample_is_the_lot():
    # "If the sample size equals or exceeds the lot size, carry out 100 % inspection"
    # (http://aqlinspectorsrule.com/manual/FAQ.html; http://www.wisetool.com/sampling.htm).
    p = plan(8, "0.65")                         # A → F, n = 20 > 8
    assert p.hundred_percent and p.sample_size == 8 and (p.ac, p.re) == (0, 1) and p.code_letter == "F"
    assert "100%" in p.note_zh and "8" in p.note_zh
    assert plan(13, "1.0", "III").hundred_percent is True      # C → E, n = 13 = lot
    assert plan(14, "1.0", "III").hundred_percent is False


@pytest.mark.parametrize("kwargs,field", [
    ({"lot_size": 500, "aql": "2.0"}, "aql"), ({"lot_size": 500, "aql": "abc"}, "aql"),
    ({"lot_size": 1, "aql": "1.0"}, "lot_size"), ({"lot_size": 0, "aql": "1.0"}, "lot_size"),
    ({"lot_size": 500, "aql": "1.0", "level": "IV"}, "level"),
    ({"lot_size": 500, "aql": "1.0", "severity": "strict"}, "severity")])
def test_bad_input_names_the_value_and_the_allowed_values(kwargs, field):
    with pytest.raises(SamplingError) as err:
        plan(**kwargs)
    assert err.value.detail["field"] == field
    assert str(kwargs[field]) in err.value.zh and str(kwargs[field]) in err.value.en
    if field in ("aql", "level"):
        assert "0.65" in err.value.zh or "II" in err.value.zh


def test_aql_spelled_differently_is_the_same_column():
    assert plan(500, "1").aql == plan(500, 1.0).aql == plan(500, "1.00").aql == "1.0"
    assert plan(500, "0.01").aql == "0.010"


def test_lot_result_and_the_tighter_aql_question():
    p = plan(2000, "1.0")                       # K, 125, 3/4 (2-A); one step tighter 0.65: K 2/3
    assert (p.code_letter, p.sample_size, p.ac) == ("K", 125, 3)
    assert lot_result(3, p) is True and lot_result(4, p) is False
    assert accepted_at_tighter_aql(2, p) is True and accepted_at_tighter_aql(3, p) is False
    assert accepted_at_tighter_aql(0, plan(500, "0.010")) is None      # no tighter AQL
    with pytest.raises(SamplingError):
        lot_result(126, p)
    with pytest.raises(SamplingError):
        lot_result(-1, p)
