"""docs/packs.md shows the manifest's JSON Schema verbatim: it must stay the one the manager checks with."""
from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_manifest_schema_in_the_docs_is_the_one_the_manager_uses() -> None:
    doc = (ROOT / "docs" / "packs.md").read_text(encoding="utf-8")
    at = doc.index("engines/packs/pack.schema.json</code>")
    block = re.search(r"```json\n(.*?)\n```", doc[at:], re.S)
    assert block is not None, "docs/packs.md: the schema block after its <summary> is missing"
    shipped = json.loads((ROOT / "engines" / "packs" / "pack.schema.json").read_text(encoding="utf-8"))
    assert json.loads(block.group(1)) == shipped, "docs/packs.md's schema differs from engines/packs/pack.schema.json: paste it again"
