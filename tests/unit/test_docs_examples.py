"""Every form definition shown in the docs validates (examples stay true)."""
import json
import re
from pathlib import Path

import pytest

from mom.engines.forms.definition import validate_form

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCKS = [b for p in sorted(DOCS.glob("*.md")) for b in re.findall(r"```json\n(.*?)```", p.read_text(encoding="utf-8"), re.S)
          if '"mom.form/1"' in b]


def test_docs_have_examples() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("block", BLOCKS)
def test_doc_example_validates(block: str) -> None:
    raw = json.loads(block)
    validate_form(raw, known_forms={"supplier": {"fields": [{"key": "name"}]}})


def test_workflow_docs_show_the_shipped_ncr_flow_and_valid_rules() -> None:
    from mom.engines.workflow.rules import validate_rule
    from mom.engines.workflow.spec import validate_workflow

    text = (DOCS / "workflows.md").read_text(encoding="utf-8")
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, re.S)]
    flows = [b for b in blocks if b.get("format") == "mom.workflow/1"]
    rules = [b for b in blocks if b.get("format") == "mom.rule/1"]
    machines = [b for b in blocks if "state_machine" in b]
    shipped = json.loads((DOCS.parent / "modelpacks/demo/workflows/ncr_review.json").read_text(encoding="utf-8"))
    assert flows == [shipped]
    for f in flows:
        validate_workflow(f)
    for r in rules:
        validate_rule(r)
    from tests.integration.test_workflow_events import WORK_ORDER     # the form whose states a test walks through

    assert machines and all(m["state_machine"] == WORK_ORDER["state_machine"] for m in machines)


def test_scheduling_docs_problem_solves_and_passes_the_checker() -> None:
    from mom.engines.scheduling import solver
    text = (DOCS / "scheduling.md").read_text(encoding="utf-8")
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, re.S) if '"mom.schedule-problem/1"' in b]
    assert blocks
    for raw in blocks:
        res = solver.solve(raw, time_limit=3)
        assert res.violations == [] and res.schedule.complete()
