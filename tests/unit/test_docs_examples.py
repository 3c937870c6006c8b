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
