"""Switching between normal, tightened and reduced inspection (GB/T 2828.1-2012 / ISO 2859-1:1999 §9).

A pure state machine, one ``State`` per key the caller chooses (item × supplier × defect class):
``next_state(state, accepted, plan, would_accept_tighter=…)`` after each lot on original
inspection returns the new state and the switch that happened, if any. Rules and sources:

- start on normal (MIL-STD-105E text, http://www.kistop.com/?page_id=11);
- normal → tightened when 2 of 5 or fewer consecutive lots are not accepted; tightened → normal
  after 5 consecutive accepted lots; reduced → normal when a lot is not accepted; discontinue when
  5 lots are not accepted while on tightened — resumed only by ``resume`` (on tightened)
  (https://www.sqconline.com/switching-rules-iso-2859-1; https://aqlrule.com/manual/switch.html);
- normal → reduced when the switching score reaches 30 (sqconline, above) and the responsible
  authority allows it (``reduced_allowed``: steady production, approval). The score starts at 0
  at the start of normal inspection and is updated after each lot on original normal inspection
  (aqlrule.com, above). The update (ISO 2859-1:1999 9.3.3.2, not quoted in any public text we
  found; the same rule is implemented by an independent open GB/T 2828.1 implementation, see
  docs/quality.md): Ac ≥ 2 → +3 if the lot would also have been accepted at the AQL one step
  tighter, else 0; Ac 0 or 1 → +2 if accepted, else 0. A lot not accepted always resets it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from mom.engines.quality.sampling import SEVERITY_ZH, Plan, SamplingError

STATE_VERSION = 1
SCORE_FOR_REDUCED = 30
WINDOW = 5                 # "2 of 5 or fewer consecutive lots"
TIGHTENED_RUN_BACK = 5     # accepted lots in a row on tightened before normal
DISCONTINUE_AFTER = 5      # lots not accepted, cumulative, on tightened


@dataclass(frozen=True)
class State:
    """Where one sampling scheme stands. JSON-serialisable through to_dict/from_dict."""

    severity: str = "normal"
    recent: tuple[bool, ...] = ()          # results of the last ≤5 lots on normal (True = accepted)
    tightened_accepted_run: int = 0
    switching_score: int = 0
    tightened_rejections: int = 0
    discontinued: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"v": STATE_VERSION, "severity": self.severity, "recent": list(self.recent),
                "tightened_accepted_run": self.tightened_accepted_run,
                "switching_score": self.switching_score,
                "tightened_rejections": self.tightened_rejections, "discontinued": self.discontinued}

    @classmethod
    def from_dict(cls, data: Any) -> "State":
        """The state stored by to_dict; anything else is refused with the field named."""
        def bad(name: str, zh: str, en: str) -> SamplingError:
            return SamplingError(f"转移状态的「{name}」不对：{zh}", f"Switching state field '{name}' is wrong: {en}",
                                 detail={"field": name})
        if not isinstance(data, dict):
            raise bad("state", "应为对象", "expected an object")
        if data.get("v", STATE_VERSION) != STATE_VERSION:
            raise bad("v", f"版本应为 {STATE_VERSION}", f"version must be {STATE_VERSION}")
        severity = data.get("severity", "normal")
        if severity not in SEVERITY_ZH:
            raise bad("severity", "应为 normal、tightened 或 reduced", "expected normal, tightened or reduced")
        recent = data.get("recent", [])
        if not isinstance(recent, list) or len(recent) > WINDOW or not all(isinstance(r, bool) for r in recent):
            raise bad("recent", f"应为最多 {WINDOW} 个 true/false", f"expected at most {WINDOW} booleans")
        counters = {}
        for name, top in (("tightened_accepted_run", TIGHTENED_RUN_BACK), ("switching_score", 10 ** 6),
                          ("tightened_rejections", DISCONTINUE_AFTER)):
            value = data.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
                raise bad(name, f"应为 0 到 {top} 的整数", f"expected a whole number from 0 to {top}")
            counters[name] = value
        discontinued = data.get("discontinued", False)
        if not isinstance(discontinued, bool):
            raise bad("discontinued", "应为 true 或 false", "expected true or false")
        return cls(severity, tuple(recent), discontinued=discontinued, **counters)


@dataclass(frozen=True)
class Event:
    """A switch that happened after a lot: kind is normal_to_tightened, tightened_to_normal,
    normal_to_reduced, reduced_to_normal, discontinued or resumed."""

    kind: str
    from_severity: str
    to_severity: str
    note_zh: str
    note_en: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "from": self.from_severity, "to": self.to_severity,
                "note_zh": self.note_zh, "note_en": self.note_en, "detail": dict(self.detail)}


def _event(kind: str, before: str, after: str, zh: str, en: str, **detail: Any) -> Event:
    return Event(kind, before, after, f"{SEVERITY_ZH[before]}转为{SEVERITY_ZH.get(after, '暂停检验')}：{zh}",
                 f"{before} → {after}: {en}", detail)


def score_after(score: int, accepted: bool, plan: Plan, would_accept_tighter: bool | None) -> int:
    """The switching score after one lot on original normal inspection (9.3.3.2, module docstring).
    ``would_accept_tighter`` None (no comparison possible) counts as not accepted: reset to 0."""
    if not accepted:
        return 0
    if plan.ac >= 2:
        return score + 3 if would_accept_tighter else 0
    return score + 2


def next_state(state: State, accepted: bool, plan: Plan, *, would_accept_tighter: bool | None,
               reduced_allowed: bool = True) -> tuple[State, Event | None]:
    """The state after one lot judged on original inspection with ``plan`` (the plan of the
    state's severity). Resubmitted lots must not be passed here."""
    if state.discontinued:
        raise SamplingError("抽样检验已暂停（加严检验下累计 5 批不接收）；供方采取纠正措施并经负责部门同意后，先恢复（resume）为加严检验",
                            "Inspection is discontinued (5 lots not accepted on tightened); after the supplier's "
                            "corrective action is accepted, resume it on tightened inspection first",
                            detail={"field": "state"})
    if plan.severity != state.severity:
        raise SamplingError(f"方案是{SEVERITY_ZH.get(plan.severity, plan.severity)}的，当前应为{SEVERITY_ZH[state.severity]}",
                            f"The plan is for {plan.severity} inspection but the state is on {state.severity}",
                            detail={"field": "plan", "expected": state.severity})
    if state.severity == "normal":
        return _on_normal(state, accepted, plan, would_accept_tighter, reduced_allowed)
    if state.severity == "tightened":
        return _on_tightened(state, accepted)
    if accepted:
        return state, None
    return State(), _event("reduced_to_normal", "reduced", "normal", "放宽检验下有 1 批不接收",
                           "a lot was not accepted on reduced inspection")


def _on_normal(state: State, accepted: bool, plan: Plan, tighter: bool | None,
               reduced_allowed: bool) -> tuple[State, Event | None]:
    recent = (state.recent + (accepted,))[-WINDOW:]
    rejected = recent.count(False)
    if rejected >= 2:
        return State("tightened"), _event(
            "normal_to_tightened", "normal", "tightened",
            f"连续 {len(recent)} 批中有 {rejected} 批不接收", f"{rejected} of {len(recent)} consecutive lots not accepted",
            window=len(recent), rejected=rejected)
    score = score_after(state.switching_score, accepted, plan, tighter)
    if score >= SCORE_FOR_REDUCED and reduced_allowed:
        return State("reduced", switching_score=score), _event(
            "normal_to_reduced", "normal", "reduced", f"转移得分 {score} ≥ {SCORE_FOR_REDUCED}，且负责部门允许放宽",
            f"switching score {score} ≥ {SCORE_FOR_REDUCED} and reduced inspection is allowed", switching_score=score)
    return replace(state, recent=recent, switching_score=score), None


def _on_tightened(state: State, accepted: bool) -> tuple[State, Event | None]:
    if accepted:
        run = state.tightened_accepted_run + 1
        if run >= TIGHTENED_RUN_BACK:
            return State(), _event("tightened_to_normal", "tightened", "normal", f"连续 {run} 批接收",
                                   f"{run} consecutive lots accepted")
        return replace(state, tightened_accepted_run=run), None
    rejections = state.tightened_rejections + 1
    if rejections >= DISCONTINUE_AFTER:
        return (replace(state, tightened_accepted_run=0, tightened_rejections=rejections, discontinued=True),
                _event("discontinued", "tightened", "discontinued",
                       f"加严检验下累计 {rejections} 批不接收，暂停抽样检验，待供方纠正",
                       f"{rejections} lots not accepted on tightened inspection: inspection discontinued until "
                       "the supplier's corrective action", rejections=rejections))
    return replace(state, tightened_accepted_run=0, tightened_rejections=rejections), None


def resume(state: State) -> tuple[State, Event]:
    """Resume a discontinued scheme after the supplier's corrective action: on tightened inspection."""
    if not state.discontinued:
        raise SamplingError("抽样检验没有暂停，无需恢复", "Inspection is not discontinued; nothing to resume",
                            detail={"field": "state"})
    return State("tightened"), Event("resumed", "tightened", "tightened", "供方纠正后恢复抽样检验：从加严检验开始",
                                     "inspection resumed after corrective action: on tightened inspection")
