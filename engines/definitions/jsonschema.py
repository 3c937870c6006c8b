"""JSON-Schema checks of definitions: load a shipped meta-schema once, and turn every violation into a
``Problem`` at its JSON pointer (unknown keys get a "did you mean")."""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from mom.platform.errors import ProblemList, did_you_mean


@lru_cache
def load_schema(path: Path) -> dict[str, Any]:
    """A shipped JSON Schema, read once."""
    return json.loads(path.read_text(encoding="utf-8"))


def json_pointer(parts: Iterable[Any]) -> str:
    """RFC 6901 pointer of a path (``["fields", 0, "key"]`` -> ``/fields/0/key``)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def schema_problems(raw: Any, schema: Mapping[str, Any], problems: ProblemList) -> None:
    """Every JSON Schema violation of ``raw`` as a problem at its JSON pointer (unknown keys get a "did you mean")."""
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    for err in sorted(validator.iter_errors(raw), key=lambda e: list(map(str, e.absolute_path))):
        path = json_pointer(err.absolute_path)
        if err.validator == "additionalProperties":
            allowed = set(err.schema.get("properties", {}))
            extra = sorted(set(err.instance) - allowed) if isinstance(err.instance, dict) else []
            for name in extra:
                problems.add(f"{path}/{name}", f"未知属性 {name}{did_you_mean(name, allowed)}",
                             f"unknown property {name}{did_you_mean(name, allowed)}", "unknown_property")
            continue
        if err.validator == "oneOf" and err.context:
            best = jsonschema.exceptions.best_match(err.context)
            msg = best.message
        else:
            msg = err.message
        if err.validator == "required":
            problems.add(path, f"缺少必填属性：{msg}", f"missing property: {msg}", "required")
        elif err.validator == "pattern":
            problems.add(path, f"取值 {err.instance!r} 不合规则：只能用小写字母、数字和下划线，以字母开头",
                         f"{err.instance!r} is not a valid key: lowercase letters, digits and _, starting with a letter",
                         "pattern")
        else:
            problems.add(path, f"格式不正确：{msg}", f"invalid: {msg}", err.validator)
