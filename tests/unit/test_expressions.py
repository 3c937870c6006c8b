"""The expression sandbox: exact decimals, bounded power and size, no escapes."""
from decimal import Decimal

import pytest

from mom.engines.expressions.sandbox import ExpressionError, compile_expression


def ev(src: str, **names: object) -> object:
    return compile_expression(src).evaluate(names)


def test_decimal_arithmetic_is_exact() -> None:
    assert ev("0.1 + 0.2") == Decimal("0.3")
    assert ev("ceil(qty ** 0.5) + 1", qty=Decimal("5000")) == 72
    assert ev("sum_rows(r, 'v')", r=[{"v": Decimal("1.1")}, {"v": Decimal("2.2")}]) == Decimal("3.3")


@pytest.mark.parametrize("src", ["9 ** 9 ** 9", "'a' * 10 ** 8", "2 ** 100000"])
def test_resource_bombs_are_stopped(src: str) -> None:
    with pytest.raises(ExpressionError):
        ev(src)


@pytest.mark.parametrize("src", ["().__class__", "(lambda: 1)()", "[x for x in range(9)]", "__import__('os')", "x" * 3000])
def test_escapes_are_refused_at_compile(src: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(src)


def test_known_names_are_enforced() -> None:
    with pytest.raises(ExpressionError) as exc:
        compile_expression("qtty > 1", known_names={"qty"})
    assert 'did you mean "qty"' in exc.value.en
