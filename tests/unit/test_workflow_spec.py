"""Workflow definitions compile to a flat graph; the working calendar; node decisions (no database)."""
from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from mom.engines.workflow.calendar import Calendar
from mom.engines.workflow.approval import decide
from mom.engines.workflow.spec import validate_workflow
from mom.platform.errors import InvalidInput
from tests.conftest import ROOT

SH = ZoneInfo("Asia/Shanghai")


def test_tree_flattens_to_next_pointers() -> None:
    spec = validate_workflow(json.loads((ROOT / "modelpacks/demo/workflows/ncr_review.json").read_text(encoding="utf-8")))
    n = spec.nodes
    assert spec.first == "qe_review" and n["qe_review"].next == "by_cost"
    assert [b.first for b in n["by_cost"].branches] == ["managers", "notify_owner"]   # else branch is empty
    assert n["managers"].next == "notify_owner" and n["mark"].next == "end"


def test_parallel_branches_join() -> None:
    spec = validate_workflow({"format": "mom.workflow/1", "name": "p", "form": "f", "nodes": [
        {"id": "par", "type": "parallel", "branches": [
            {"nodes": [{"id": "a", "type": "approval", "assignees": [{"type": "initiator"}]}]}, {"nodes": []}]},
        {"id": "z", "type": "approval", "assignees": [{"type": "initiator"}]}]})
    assert spec.nodes["a"].next == "join:par:0" and spec.nodes["a"].parallels == (("par", 0),)
    assert [b.first for b in spec.nodes["par"].branches] == ["a", "join:par:1"] and spec.nodes["par"].next == "z"


def test_every_problem_with_its_path() -> None:
    with pytest.raises(InvalidInput) as err:
        validate_workflow({"format": "mom.workflow/1", "name": "Bad Name", "form": "f", "nodes": [
            {"id": "a", "type": "approval", "mode": "sometimes"}, {"id": "b", "type": "teleport"}], "colour": 1})
    paths = {p.path for p in err.value.problems}
    assert {"/name", "/nodes/0/mode", "/nodes/1/type", "/colour"} <= paths
    with pytest.raises(InvalidInput) as err:
        validate_workflow({"format": "mom.workflow/1", "name": "x", "form": "f", "nodes": [
            {"id": "c", "type": "condition", "branches": [{"else": True, "nodes": []}, {"when": "1 +", "nodes": []}]},
            {"id": "p", "type": "parallel", "branches": [{"nodes": []}]}]})
    paths = {p.path for p in err.value.problems}
    assert {"/nodes/0/branches/0/else", "/nodes/0/branches/1/when", "/nodes/1/branches"} <= paths


def test_working_calendar_skips_nights_weekends_and_holidays_and_counts_make_up_days() -> None:
    cal = Calendar.from_raw({"holidays": ["2026-10-01", "2026-10-02"], "extra_workdays": ["2026-10-10"]})
    fri_4pm = dt.datetime(2026, 11, 20, 16, 0, tzinfo=SH)
    assert cal.add_working_hours(fri_4pm, 2, SH).astimezone(SH) == dt.datetime(2026, 11, 23, 9, 0, tzinfo=SH)
    lunch = dt.datetime(2026, 11, 23, 11, 30, tzinfo=SH)
    assert cal.add_working_hours(lunch, 1, SH).astimezone(SH) == dt.datetime(2026, 11, 23, 13, 30, tzinfo=SH)
    before_holiday = dt.datetime(2026, 9, 30, 16, 0, tzinfo=SH)          # Wed; Thu+Fri holidays
    assert cal.add_working_hours(before_holiday, 2, SH).astimezone(SH) == dt.datetime(2026, 10, 5, 9, 0, tzinfo=SH)
    fri_oct9 = dt.datetime(2026, 10, 9, 16, 0, tzinfo=SH)                # Saturday Oct 10 is a make-up workday (调休)
    assert cal.add_working_hours(fri_oct9, 2, SH).astimezone(SH) == dt.datetime(2026, 10, 10, 9, 0, tzinfo=SH)


class _N:
    def __init__(self, mode: str, ratio: float = 1.0) -> None:
        self.mode, self.pass_ratio, self.pass_weight = mode, ratio, None   # a node without weights


@pytest.mark.parametrize("mode,ratio,votes,verdict", [
    ("all", 1, ["approved", "pending"], "pending"), ("all", 1, ["approved", "approved"], "approved"),
    ("all", 1, ["approved", "rejected"], "rejected"), ("any", 1, ["pending", "approved"], "approved"),
    ("any", 1, ["rejected", "pending"], "rejected"), ("sequential", 1, ["approved", "pending"], "pending"),
    ("vote", 0.6, ["approved", "rejected", "pending"], "pending"), ("vote", 0.6, ["approved", "approved", "pending"], "approved"),
    ("vote", 0.6, ["rejected", "rejected", "pending"], "rejected"), ("vote", 0.5, ["approved", "rejected"], "approved")])
def test_node_decisions(mode: str, ratio: float, votes: list[str], verdict: str) -> None:
    assert decide(_N(mode, ratio), votes) == verdict  # type: ignore[arg-type]
