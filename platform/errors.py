"""One error hierarchy for the whole product.

Domain errors never know HTTP; ``mom.platform.api.errors`` maps each ``code`` family to a status.
Every message is bilingual (zh-CN first, en second) and says what to fix.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located by a JSON pointer (definitions, bodies) or row/field."""

    path: str
    zh: str
    en: str
    code: str = "invalid"

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "code": self.code, "message": {"zh-CN": self.zh, "en": self.en}}

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.zh} / {self.en}"


class MomError(Exception):
    """Base of all product errors. ``code`` is stable and documented in docs/errors.md."""

    code = "mom.error"

    def __init__(self, zh: str, en: str, *, problems: list[Problem] | None = None,
                 detail: dict[str, Any] | None = None) -> None:
        self.zh = zh
        self.en = en
        self.problems = list(problems or [])
        self.detail = dict(detail or {})
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"{self.zh} / {self.en}"
        if self.problems:
            text += "\n" + "\n".join(f"  - {p}" for p in self.problems)
        return text

    def problems_in(self, file: str) -> list[Problem]:
        """This error's problems located in ``file`` (``file#/json/pointer``), for reports over many files."""
        return [Problem(f"{file}#{p.path}", p.zh, p.en, p.code) for p in self.problems or [Problem("", self.zh, self.en)]]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": {"zh-CN": self.zh, "en": self.en}}
        if self.problems:
            out["problems"] = [p.as_dict() for p in self.problems]
        if self.detail:
            out["detail"] = self.detail
        return out


class InvalidInput(MomError):
    """The input (definition, record, file, parameter) is wrong; ``problems`` lists every issue."""

    code = "invalid_input"


class NotFound(MomError):
    code = "not_found"


class Conflict(MomError):
    """The state changed under the caller (stale row_version, duplicate key, plan refused)."""

    code = "conflict"


class PreconditionRequired(MomError):
    """A change that must say which version it is based on did not (PATCH without row_version / If-Match)."""

    code = "precondition_required"


class AccessDenied(MomError):
    code = "access_denied"


class AuthRequired(MomError):
    code = "auth_required"


class InsufficientScope(MomError):
    """An API token lacks the scope a request needs (``detail.missing_scope`` names it)."""

    code = "insufficient_scope"


class TooManyAttempts(MomError):
    """Sign-in refused for a while after repeated failures; ``retry_after`` seconds until the next try."""

    code = "too_many_attempts"

    def __init__(self, zh: str, en: str, *, retry_after: int, detail: dict[str, Any] | None = None) -> None:
        super().__init__(zh, en, detail={"retry_after": retry_after, **(detail or {})})
        self.retry_after = retry_after


class TooLarge(MomError):
    code = "too_large"


@dataclass
class ProblemList:
    """Collects problems so that validation reports all of them at once."""

    items: list[Problem] = field(default_factory=list)

    def add(self, path: str, zh: str, en: str, code: str = "invalid") -> None:
        self.items.append(Problem(path, zh, en, code))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self, zh: str = "输入有误", en: str = "invalid input") -> None:
        if self.items:
            raise InvalidInput(zh, en, problems=self.items)


def did_you_mean(name: str, candidates: list[str] | set[str]) -> str:
    """A short ' (did you mean "x"?)' suffix, or '' when nothing is close."""
    import difflib

    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"? / 是否为 "{close[0]}"？)' if close else ""
