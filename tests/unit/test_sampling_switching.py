"""Switching rules (GB/T 2828.1 / ISO 2859-1:1999 §9) as sequences of lots.

Sources: https://www.sqconline.com/switching-rules-iso-2859-1 (2 of ≤5 → tightened; 5 accepted →
normal; score ≥ 30 → reduced; 1 not accepted → normal; 5 not accepted on tightened → discontinue);
https://aqlrule.com/manual/switch.html (score starts at 0 and is updated after each lot on original
normal inspection; discontinued until the supplier's corrective action). The +3/+2 update is ISO
2859-1:1999 9.3.3.2 (see engines/quality/switching.py).
"""
from __future__ import annotations

import json

import pytest

from mom.engines.quality.sampling import SamplingError, accepted_at_tighter_aql, lot_result, plan
from mom.engines.quality.switching import State, next_state, resume

NORMAL = plan(2000, "1.0")                      # K, n=125, Ac 3 (score rule +3 branch)
NORMAL_AC1 = plan(500, "0.65")                  # H, n=50 → J 80, Ac 1 (+2 branch)
TIGHT = plan(2000, "1.0", severity="tightened")
REDUCED = plan(2000, "1.0", severity="reduced")


def run(state, results, p, tighter=True, **kw):
    events = []
    for accepted in results:
        state, event = next_state(state, accepted, p, would_accept_tighter=tighter, **kw)
        events.append(event and event.kind)
    return state, events


def test_two_of_five_not_accepted_switches_to_tightened():
    state, events = run(State(), [True, False, True, True], NORMAL)
    assert state.severity == "normal" and events == [None] * 4
    state, event = next_state(state, False, NORMAL, would_accept_tighter=None)
    assert state.severity == "tightened" and event.kind == "normal_to_tightened"
    assert "2" in event.note_zh and event.detail == {"window": 5, "rejected": 2}


def test_two_rejections_six_lots_apart_do_not_switch():
    state, events = run(State(), [False, True, True, True, True, False], NORMAL)
    assert state.severity == "normal" and set(events) == {None}


def test_five_accepted_on_tightened_back_to_normal():
    state, events = run(State("tightened"), [True, True, False, True, True, True, True], TIGHT)
    assert state.severity == "tightened" and state.tightened_accepted_run == 4
    state, event = next_state(state, True, TIGHT, would_accept_tighter=None)
    assert state == State() and event.kind == "tightened_to_normal"


def test_five_rejections_on_tightened_discontinue_until_resumed():
    state, events = run(State("tightened"), [False, True, False, True, False, False], TIGHT)
    assert state.tightened_rejections == 4 and not state.discontinued
    state, event = next_state(state, False, TIGHT, would_accept_tighter=None)
    assert state.discontinued and event.kind == "discontinued" and event.to_severity == "discontinued"
    with pytest.raises(SamplingError) as err:
        next_state(state, True, TIGHT, would_accept_tighter=None)
    assert "暂停" in err.value.zh
    state, event = resume(state)
    assert state == State("tightened") and event.kind == "resumed"


def test_score_reaching_30_switches_to_reduced():
    # Ac ≥ 2: +3 per lot also accepted at one AQL step tighter → 10 lots reach 30.
    state, events = run(State(), [True] * 9, NORMAL)
    assert state.switching_score == 27 and state.severity == "normal"
    state, event = next_state(state, True, NORMAL, would_accept_tighter=True)
    assert state.severity == "reduced" and event.kind == "normal_to_reduced" and event.detail["switching_score"] == 30


def test_score_plus_2_for_ac_0_or_1_and_resets():
    assert NORMAL_AC1.ac == 1
    state, _ = run(State(), [True] * 14, NORMAL_AC1, tighter=None)
    assert state.switching_score == 28
    state, event = next_state(state, True, NORMAL_AC1, would_accept_tighter=None)
    assert state.severity == "reduced" and event.kind == "normal_to_reduced"
    # Ac ≥ 2 and not accepted at the tighter AQL: reset to 0 although the lot is accepted.
    state, _ = run(State(), [True] * 5, NORMAL)
    state, _ = next_state(state, True, NORMAL, would_accept_tighter=False)
    assert state.switching_score == 0 and state.severity == "normal"


def test_score_30_but_reduced_not_allowed_stays_normal():
    state, events = run(State(), [True] * 12, NORMAL, reduced_allowed=False)
    assert state.severity == "normal" and state.switching_score == 36 and set(events) == {None}


def test_one_rejection_on_reduced_back_to_normal():
    state, events = run(State("reduced", switching_score=30), [True, True], REDUCED)
    assert state.severity == "reduced" and events == [None, None]
    state, event = next_state(state, False, REDUCED, would_accept_tighter=None)
    assert state == State() and event.kind == "reduced_to_normal"


def test_a_lot_judged_from_defects_end_to_end():
    # K 125 Ac 3: 2 defects accepted, also at 0.65 (K 125 Ac 2) → +3.
    p = plan(2000, "1.0")
    state, _ = next_state(State(), lot_result(2, p), p, would_accept_tighter=accepted_at_tighter_aql(2, p))
    assert state.switching_score == 3


def test_plan_of_another_severity_is_refused():
    with pytest.raises(SamplingError) as err:
        next_state(State(), True, TIGHT, would_accept_tighter=None)
    assert err.value.detail["field"] == "plan"


def test_state_round_trips_through_json_and_bad_state_is_named():
    state, _ = run(State(), [True, False, True], NORMAL)
    again = State.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again == state and again.recent == (True, False, True)
    for bad, field in [({"severity": "strict"}, "severity"), ({"recent": [True] * 6}, "recent"),
                       ({"switching_score": -1}, "switching_score"), ({"v": 9}, "v"), ([], "state")]:
        with pytest.raises(SamplingError) as err:
            State.from_dict(bad)
        assert err.value.detail["field"] == field
