"""`/openapi.json` documents what every API operation answers: a schema for its success (the envelope
models of platform/api/models.py for records, tasks, reports, forms) and the one error shape for 4xx."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mom.platform.api.app import create_app
from mom.platform.db.engine import make_engine
from mom.platform.settings import Settings

ERROR_REF = "#/components/schemas/ErrorRead"
METHODS = {"get", "put", "post", "delete", "patch"}

#: (method, path) -> the model its success answer must name
ENVELOPES = {
    ("get", "/api/records/{form}"): "RecordPage",
    ("post", "/api/records/{form}"): "RecordRead",          # one object, or an array of them
    ("get", "/api/records/{form}/{record_id}"): "RecordRead",
    ("patch", "/api/records/{form}/{record_id}"): "RecordRead",
    ("delete", "/api/records/{form}/{record_id}"): "RecordDeletedRead",
    ("post", "/api/records/{form}/{record_id}/restore"): "RecordRead",
    ("get", "/api/tasks"): "TaskPage",
    ("post", "/api/tasks/{task_id}/{action}"): "TaskActionRead",
    ("get", "/api/reports/{name}/data"): "ReportDataRead",
    ("get", "/api/forms"): "FormSummaryRead",
    ("get", "/api/forms/{name}"): "FormRead",
}


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("openapi")
    url = f"sqlite:///{tmp / 'never-opened.sqlite3'}"
    app = create_app(Settings(data_dir=Path(tmp) / "data", database_url=url), make_engine(url), migrate=False)
    return app.openapi()


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, path, op) for path, ops in spec["paths"].items() if path.startswith("/api/")
            for m, op in ops.items() if m in METHODS]


def _success(op: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (status, answer), = [(s, r) for s, r in op["responses"].items() if s.startswith("2")]
    return status, answer


def test_every_api_operation_documents_its_success(spec: dict[str, Any]) -> None:
    bare = []
    for method, path, op in _operations(spec):
        status, answer = _success(op)
        if status == "204":
            continue
        schemas = [c.get("schema") for c in answer.get("content", {}).values()]
        if not any(s not in (None, {}) and set(s) != {"title"} for s in schemas):
            bare.append(f"{method.upper()} {path}")
    assert not bare, f"no documented answer: {bare}"


def test_every_api_operation_documents_the_error_shape(spec: dict[str, Any]) -> None:
    missing = [f"{m.upper()} {path}" for m, path, op in _operations(spec)
               if op["responses"].get("4XX", {}).get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
               != ERROR_REF]
    assert not missing, missing
    for m, path, op in _operations(spec):   # a 4xx documented on its own (413, 422, 428, 429) has the same shape
        for status, answer in op["responses"].items():
            if status.startswith("4") and status != "4XX":
                assert answer["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}, (m, path, status)


def test_the_envelopes_name_their_models(spec: dict[str, Any]) -> None:
    import json

    for (method, path), model in ENVELOPES.items():
        _, answer = _success(spec["paths"][path][method])
        schema = json.dumps(answer["content"]["application/json"]["schema"])
        assert f"#/components/schemas/{model}" in schema, (method, path, schema)


def test_the_error_model_is_the_error_shape(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    error = schemas["ErrorRead"]
    assert set(error["required"]) == {"code", "message"}
    assert set(schemas["MessageRead"]["required"]) == {"zh-CN", "en"}
    assert set(schemas["ProblemRead"]["required"]) == {"path", "code", "message"}
    assert "HTTPValidationError" not in schemas   # no {"detail": [...]} shape left anywhere


def test_a_record_page_keeps_form_fields_open(spec: dict[str, Any]) -> None:
    record = spec["components"]["schemas"]["RecordRead"]
    assert record["required"] == ["id"] and record.get("additionalProperties") is True
    page = spec["components"]["schemas"]["RecordPage"]
    assert {"items", "next", "total"} <= set(page["properties"]) and page["required"] == ["items"]
