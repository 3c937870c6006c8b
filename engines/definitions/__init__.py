"""Helpers every kind of definition shares (forms, workflows, rules, reports, dashboards, scheduling
problems): the JSON-Schema meta-schema check with JSON pointers, the definition hash and compiling an
expression found at a JSON pointer. Depends only on mom.engines.expressions and mom.platform.errors."""
