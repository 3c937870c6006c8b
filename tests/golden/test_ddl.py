"""Golden DDL: the demo inspection form compiles to the same tables on SQLite and PostgreSQL,
checked without a database. Regenerate with MOM_UPDATE_GOLDEN=1 after an intended change."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from mom.engines.forms.compile import compile_form
from mom.engines.forms.definition import validate_form

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent / "data"


def ddl(dialect: object) -> str:
    raw = json.loads((ROOT / "modelpacks/demo/forms/iqc_inspection.json").read_text())
    compiled = compile_form(validate_form(raw), 1)
    parts = []
    for t in (compiled.main, *compiled.children.values()):
        parts.append(str(CreateTable(t).compile(dialect=dialect)).strip())
        for ix in sorted(t.indexes, key=lambda i: i.name):
            parts.append(str(CreateIndex(ix).compile(dialect=dialect)).strip())
    return "\n\n".join(parts) + "\n"


@pytest.mark.parametrize("name,dialect", [("sqlite", sqlite.dialect()), ("postgresql", postgresql.dialect())])
def test_iqc_ddl_matches_golden(name: str, dialect: object) -> None:
    path = HERE / f"iqc_inspection.{name}.sql"
    got = ddl(dialect)
    if os.environ.get("MOM_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(got)
    if not path.exists():
        pytest.fail(f"golden file {path.relative_to(ROOT)} is missing: generate it with "
                    f"MOM_UPDATE_GOLDEN=1 python3 -m pytest {Path(__file__).relative_to(ROOT)}, review and commit it")
    assert got == path.read_text(), f"DDL differs from {path.relative_to(ROOT)}; after an intended change " \
        f"regenerate it with MOM_UPDATE_GOLDEN=1 python3 -m pytest {Path(__file__).relative_to(ROOT)}"
