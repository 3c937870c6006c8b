"""Response models of the API's envelopes, for ``/openapi.json`` (``XRead`` one thing, ``XPage`` a page).

They document what the routes return; they are declared on the routes with ``responses={200: {"model":
X}}`` (or ``response_model=X`` where the route hands back a ready ``Response``), so the answers are not
validated through them on the way out and stay byte for byte what the engines made. A record's fields
are defined by its form, so records are objects with the system fields named and any other property
allowed. Every model allows properties it does not name: an envelope may grow without a 500.
"""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

Label = dict[str, str] | str          # {"zh-CN": …, "en": …}, or one text


class Open(BaseModel):
    """An object that may carry more properties than the model names."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


# ---------------------------------------------------------------- errors

class MessageRead(Open):
    """A message in both languages, Chinese first."""

    zh_cn: str = Field(alias="zh-CN")
    en: str


class ProblemRead(Open):
    """One thing wrong with the input, located by a JSON pointer (``/qty``, ``/rows/12/qty``, ``/limit``)."""

    path: str
    code: str
    message: MessageRead


class ErrorRead(Open):
    """The one shape of every error answer (docs/errors.md): a stable ``code``, the message in zh-CN and
    en, every problem, and details such as ``retry_after`` or ``plan``."""

    code: str = Field(description="stable code: invalid_input, not_found, conflict, access_denied, auth_required …")
    message: MessageRead
    problems: list[ProblemRead] = Field(default_factory=list)
    detail: dict[str, Any] = Field(default_factory=dict)


#: every router's client errors: one model for all of them
ERRORS: dict[int | str, dict[str, Any]] = {"4XX": {"model": ErrorRead, "description": "错误 / error (docs/errors.md)"}}


# ---------------------------------------------------------------- records

class RecordRead(Open):
    """One record: the system fields below, then the form's own fields by key (child tables as arrays of
    rows, ``_display`` with the display text of references when asked)."""

    id: int
    row_version: int | None = None
    form_version: int | None = None
    created_at: str | None = None
    created_by: int | None = None
    updated_at: str | None = None
    updated_by: int | None = None
    department_id: int | None = None
    deleted_at: str | None = None


class RecordPage(Open):
    """A page of records: ``next`` is the cursor of the following page (``after=``), null on the last;
    ``total`` only with ``count=1``."""

    items: list[RecordRead]
    next: str | None = None
    total: int | None = None
    scope: dict[str, Any] | None = Field(None, description="the row scope the caller reads under: kind all/own/department/"
                                         "condition/limited, limited (bool), text {zh-CN, en} for a notice (null when all)")


class RecordDeletedRead(Open):
    """A soft delete: the record can be restored."""

    id: int
    deleted: bool


#: a create answers the record (object body) or the records (array body), 201
RecordCreateRead = RecordRead | list[RecordRead]


class RecordPreviewRead(Open):
    """A record being filled in, checked without writing: computed formulas, defaults of a new record,
    child rows' formulas, and every problem with its path."""

    computed: dict[str, Any] = Field(default_factory=dict)
    defaults: dict[str, Any] = Field(default_factory=dict)
    children: dict[str, Any] = Field(default_factory=dict)
    problems: list[ProblemRead] = Field(default_factory=list)
    errors: dict[str, Any] = Field(default_factory=dict)


class ImportErrorRead(Open):
    """A refused row of an import: its number (the header is row 1), the field and the reason."""

    row: int | None = None
    field: str | None = None
    code: str | None = None
    message: MessageRead


class ImportResultRead(Open):
    """What an import did: rows read, created, updated, unchanged and skipped (mode ``skip``), with the
    first row errors and their total count."""

    total: int
    created: int
    updated: int
    unchanged: int | None = None
    skipped: int
    errors: list[ImportErrorRead] = Field(default_factory=list)
    error_count: int | None = None
    mode: str | None = None


# ---------------------------------------------------------------- forms

class FormSummaryRead(Open):
    """A published form the caller may read or create in, with what the caller may do."""

    name: str
    label: Label
    version: int
    actions: list[str]
    problem: MessageRead | None = Field(None, description="why the form cannot be used now (a field type's "
                                        "plug-in is not installed); listed to its designers only")


class FormRead(Open):
    """A form's current definition as the caller may see it (hidden fields left out)."""

    name: str
    version: int
    definition: dict[str, Any]
    actions: list[str]
    read_only_fields: list[str] = Field(default_factory=list)
    display_field: str | None = None
    engine_only: list[str] = Field(default_factory=list, description="actions only an engine performs on this form's "
                                   "records (e.g. 库存流水: create, import, update, delete): left out of ``actions`` for everyone")
    warning: MessageRead | None = Field(None, description="the stored definition cannot be used now (a field "
                                        "type's plug-in is not installed): shown as stored, to be fixed")
    problems: list[ProblemRead] = Field(default_factory=list)


# ---------------------------------------------------------------- workflow tasks

class TaskRead(Open):
    """A task of the inbox: the task, its workflow, node and record (box ``started`` lists the caller's
    instances instead, each as ``{"instance": …}``)."""

    id: int | None = None
    instance_id: int | None = None
    node_id: str | None = None
    kind: str | None = None
    status: str | None = None
    assignee_id: int | None = None
    assignee: str | None = None
    created_at: str | None = None
    due_at: str | None = None
    workflow: str | None = None
    form: str | None = None
    record_id: int | None = None
    instance: dict[str, Any] | None = None


class InstanceRead(Open):
    """A workflow instance: its flow and version, record, status, where it stands (``current_nodes``,
    ``open_tasks`` while running) and, in full, its tasks and timeline."""

    id: int
    workflow: str
    version: int | None = None
    form: str | None = None
    record_id: int | None = None
    status: str


class TaskPage(Open):
    """One box of the caller's inbox with the count of every box."""

    box: str
    items: list[TaskRead]
    counts: dict[str, int]


class TaskActionRead(Open):
    """A task after an action (approve, reject, return …) and its instance."""

    task: TaskRead
    instance: dict[str, Any]


# ---------------------------------------------------------------- reports

class ReportColumnRead(Open):
    """A result column: a dimension or a measure, with its label, value type and display format."""

    key: str
    kind: str
    label: Label | None = None
    type: str | None = None


class ReportDataRead(Open):
    """A report's result: its columns and rows (one object per row, keyed by column), whether the row
    limit cut it, the parameters used, the SQL time; ``pivot``, ``estimate``, ``hidden_fields`` when
    they apply."""

    report: str
    source: str
    columns: list[ReportColumnRead]
    rows: list[dict[str, Any]]
    truncated: bool | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    sql_ms: float | None = None


# ---------------------------------------------------------------- the document

def _bare_refs(node: Any) -> None:
    """A schema FastAPI derived from a route's ``dict``/``list`` return annotation, merged with the
    declared model, becomes ``{"$ref": …, "type": "object", "additionalProperties": true, "title": …}``:
    keep the reference alone (the model says it all)."""
    if isinstance(node, dict):
        if "$ref" in node and set(node) - {"$ref"} <= {"type", "additionalProperties", "title"}:
            for key in set(node) - {"$ref"}:
                del node[key]
        for value in node.values():
            _bare_refs(value)
    elif isinstance(node, list):
        for value in node:
            _bare_refs(value)


def install(app: FastAPI) -> None:
    """Clean the documented response schemas once, when ``/openapi.json`` is first built."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for ops in schema.get("paths", {}).values():
                for op in ops.values():
                    _bare_refs(op.get("responses", {}))
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


class JobReportRead(Open):
    """What POST /api/production/reports answers: the stored job report, whether it was a repeat of an
    earlier one (the same client_id: 200 instead of 201), and the task and order after it."""

    report: dict[str, Any]
    duplicate: bool
    task: dict[str, Any]
    order: dict[str, Any]
