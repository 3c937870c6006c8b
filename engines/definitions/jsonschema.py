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
        best = jsonschema.exceptions.best_match(err.context) if err.validator == "oneOf" and err.context else err
        msg = best.message
        if err.validator == "required":
            problems.add(path, f"缺少必填属性：{msg}", f"missing property: {msg}", "required")
        elif err.validator == "pattern":
            problems.add(path, f"取值 {err.instance!r} 不合规则：只能用小写字母、数字和下划线，以字母开头",
                         f"{err.instance!r} is not a valid key: lowercase letters, digits and _, starting with a letter",
                         "pattern")
        else:
            problems.add(path, f"格式不正确：{zh_message(best)}", f"invalid: {msg}", err.validator)


_TYPES_ZH = {"string": "文字", "integer": "整数", "number": "数字", "boolean": "true 或 false", "object": "对象",
             "array": "列表", "null": "空值"}


def _shown(v: Any) -> str:
    text = json.dumps(v, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def zh_message(err: Any) -> str:
    """A JSON Schema violation in Chinese (jsonschema words its messages in English only)."""
    v, arg, got = err.validator, err.validator_value, _shown(err.instance)
    if v == "enum":
        return f"{got} 不是可选的值；只能是以下之一：{'、'.join(_shown(x) for x in arg)}"
    if v == "const":
        return f"{got} 不对；应为 {_shown(arg)}"
    if v == "type":
        kinds = arg if isinstance(arg, list) else [arg]
        return f"{got} 的类型不对；应为{'或'.join(_TYPES_ZH.get(k, k) for k in kinds)}"
    if v in ("minimum", "exclusiveMinimum"):
        return f"{got} 太小；{'应不小于' if v == 'minimum' else '应大于'} {arg}"
    if v in ("maximum", "exclusiveMaximum"):
        return f"{got} 太大；{'应不大于' if v == 'maximum' else '应小于'} {arg}"
    if v in ("minLength", "maxLength"):
        return f"{got} {'太短，至少' if v == 'minLength' else '太长，最多'} {arg} 个字符"
    if v in ("minItems", "maxItems"):
        return f"{'项数太少，至少' if v == 'minItems' else '项数太多，最多'} {arg} 项"
    if v in ("minProperties", "maxProperties"):
        return f"{'属性太少，至少' if v == 'minProperties' else '属性太多，最多'} {arg} 个"
    if v == "uniqueItems":
        return "列表中有重复项"
    if v == "format":
        return f"{got} 不符合格式 {arg}"
    if v == "not":
        return f"{got} 不允许"
    if v in ("oneOf", "anyOf"):
        return f"{got} 不符合任何一种允许的写法"
    return f"{got} 不符合要求（{v}）"
