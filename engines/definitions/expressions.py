"""Expressions found inside definitions: compiled with the problem reported at their JSON pointer."""
from __future__ import annotations

from typing import Any

from mom.engines.expressions.sandbox import Expression, ExpressionError, compile_expression
from mom.platform.errors import ProblemList


def expression_at(source: Any, known: set[str] | frozenset[str] | None, path: str,
                  problems: ProblemList) -> Expression | None:
    """The expression ``source`` found at ``path``; ``known`` limits the names it may read (None: syntax
    only). A non-string gives None (the schema check reports it); a bad one adds a problem and gives None."""
    if not isinstance(source, str):
        return None
    try:
        return compile_expression(source, known_names=known)
    except ExpressionError as exc:
        problems.add(path, exc.zh, exc.en, "expression")
        return None
