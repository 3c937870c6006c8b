"""Frozen, validated form objects: ``FormDefinition`` and its ``FieldSpec``s.

Produced only by :func:`mom.engines.forms.definition.validate_form`; never mutated.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from mom.engines.expressions.sandbox import Expression

FORMAT = "mom.form/1"
SYSTEM_COLUMNS = ("id", "row_version", "form_version", "created_at", "created_by", "updated_at",
                  "updated_by", "deleted_at", "department_id")
CHILD_SYSTEM_COLUMNS = ("id", "parent_id", "seq")
STORED_SCALAR_TYPES = frozenset({"text", "long_text", "integer", "decimal", "boolean", "date", "datetime",
                                 "select", "multi_select", "reference", "attachment", "user", "department",
                                 "formula", "autonumber", "barcode"})
MAIN = "_main"


def text_of(label: Any, key: str = "") -> dict[str, str]:
    """Normalise a label (string or {zh-CN, en}) to both languages."""
    if isinstance(label, str):
        return {"zh-CN": label, "en": label}
    if isinstance(label, Mapping):
        zh = label.get("zh-CN") or label.get("en") or key
        return {"zh-CN": zh, "en": label.get("en") or zh}
    return {"zh-CN": key, "en": key}


@dataclass(frozen=True)
class FieldSpec:
    id: str
    key: str
    type: str
    raw: Mapping[str, Any]
    label: Mapping[str, str]
    required: bool = False
    unique: bool = False
    read_only: bool = False
    hidden: bool = False
    options: tuple[str, ...] = ()
    option_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    children: tuple["FieldSpec", ...] = ()
    formula: Expression | None = None
    default_expr: Expression | None = None
    backfill_expr: Expression | None = None
    regex: re.Pattern[str] | None = None

    value_type: str = ""        # the type of the stored value (a formula stores its result type)

    def __post_init__(self) -> None:
        vt = str(self.raw.get("result_type", "decimal")) if self.type == "formula" else self.type
        object.__setattr__(self, "value_type", vt)

    @cached_property
    def computed(self) -> bool:
        return self.formula is not None

    @cached_property
    def is_table(self) -> bool:
        return self.type == "table"

    @cached_property
    def memo(self) -> dict[Any, Any]:
        """Helpers other modules derive from this field once (its specialised coercer, its limits)."""
        return {}

    def child(self, key: str) -> "FieldSpec | None":
        return next((c for c in self.children if c.key == key), None)


@dataclass(frozen=True)
class RuleSpec:
    index: int
    when: Expression
    message: Mapping[str, str]
    field: str | None


@dataclass(frozen=True)
class IndexSpec:
    fields: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class FormDefinition:
    name: str
    raw: Mapping[str, Any]
    hash: str
    label: Mapping[str, str]
    fields: tuple[FieldSpec, ...]
    rules: tuple[RuleSpec, ...]
    indexes: tuple[IndexSpec, ...]
    display_field: str
    formula_order: tuple[str, ...]
    child_formula_order: Mapping[str, tuple[str, ...]]
    state_machine: Any = None          # mom.engines.forms.states.StateMachine, when declared

    def field(self, key: str) -> FieldSpec | None:
        return self._by_key.get(key)

    @cached_property
    def _by_key(self) -> dict[str, FieldSpec]:
        return {f.key: f for f in self.fields}

    @cached_property
    def scalar_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if not f.is_table)

    @cached_property
    def table_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.is_table)

    @property
    def references(self) -> frozenset[str]:
        """Names of other forms this one references (its dependencies)."""
        out = set()
        for f in self.fields:
            for g in (f, *f.children):
                if g.type == "reference" and g.raw.get("form") != self.name:
                    out.add(str(g.raw["form"]))
        return frozenset(out)

    @property
    def permissions(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(self.raw.get("permissions", ()))
