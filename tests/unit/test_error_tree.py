"""Every exception class the product defines is a `MomError`: it has a stable `code`, a bilingual
message, and the API's error mapper answers it with its status instead of a 500."""
from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from mom.platform.errors import MomError

ROOTS = ("mom.platform", "mom.engines", "mom.connectors", "mom.modelpacks")

#: exception classes allowed outside the tree, each with the reason
ALLOWED: dict[str, str] = {
    # raised and caught inside one function of the request-body parser (a JSON constant such as NaN
    # refused while parsing); never leaves the module
    "mom.platform.api.textinput._Constant": "internal control flow of the JSON parser",
}


def _modules() -> list[str]:
    """Every module under the roots, sub-folders without ``__init__.py`` (namespace packages) included."""
    names = set()
    for root in ROOTS:
        for base in importlib.import_module(root).__path__:
            for path in Path(base).rglob("*.py"):
                rel = path.relative_to(base).with_suffix("").parts
                if "__pycache__" in rel or "tests" in rel or "migrations" in rel or rel[-1] == "__main__":
                    continue   # alembic scripts run only inside alembic
                names.add(".".join((root, *(rel[:-1] if rel[-1] == "__init__" else rel))))
    return sorted(names)


def _exception_classes() -> list[type[BaseException]]:
    out = []
    for name in _modules():
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == name:
                out.append(obj)
    return out


def test_every_exception_is_a_mom_error() -> None:
    outside = [f"{c.__module__}.{c.__qualname__}" for c in _exception_classes()
               if not issubclass(c, MomError) and f"{c.__module__}.{c.__qualname__}" not in ALLOWED]
    assert not outside, f"derive these from mom.platform.errors.MomError (or a subclass): {outside}"


@pytest.mark.parametrize("cls", [c for c in _exception_classes() if issubclass(c, MomError)],
                         ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_each_error_has_its_own_stable_code(cls: type[MomError]) -> None:
    assert isinstance(cls.code, str) and cls.code and cls.code.replace("_", "").replace(".", "").isalnum()


def test_the_api_answers_every_code_with_a_client_status() -> None:
    """A domain error that reaches the API is a 4xx (or the documented 5xx of an outside system),
    never the generic 500 of an unexpected exception."""
    from mom.platform.api.errors import STATUS

    for cls in _exception_classes():
        if issubclass(cls, MomError) and cls is not MomError:
            status = STATUS.get(cls.code, 400)   # the mapper's default for a code it does not list
            assert 400 <= status < 500 or status in (502, 503), f"{cls.__qualname__} ({cls.code}) answers {status}"
