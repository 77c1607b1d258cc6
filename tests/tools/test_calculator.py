"""The calculate tool: right answers, and every hostile input refused quickly with a reason."""

from __future__ import annotations

import math
import time

import pytest

from bot.engine.permissions import Caller, Place
from bot.engine.tools import ToolContext, ToolError
from tools.calculator import calculate

CONTEXT = ToolContext(caller=Caller(user_id="1", name="ann"), place=Place(channel_id="c", guild_id="g"), services=None)


def run(expression: str) -> object:
    """The result the tool gives for `expression`."""
    return calculate.function(CONTEXT, expression)["result"]


def refusal(expression: str) -> ToolError:
    """The ToolError the tool raises for `expression`."""
    with pytest.raises(ToolError) as caught:
        calculate.function(CONTEXT, expression)
    return caught.value


@pytest.mark.asyncio
async def test_product_comes_back_with_its_expression() -> None:
    result = await calculate.invoke(CONTEXT, calculate.arguments(expression="123 * 456"))
    assert result == {"expression": "123 * 456", "result": 56088}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("-7 % 3", 2),
        ("2 ** 10", 1024),
        ("2 ** -1", 0.5),
        ("-(3) + +4", 1),
        ("1_000 * 3", 3000),
        ("sqrt(16)", 4.0),
        ("log(e)", 1.0),
        ("log(8, 2)", 3.0),
        ("abs(-2.5)", 2.5),
        ("round(2.567, 2)", 2.57),
        ("round(2.5)", 2),
        ("floor(-1.5)", -2),
        ("ceil(1.2)", 2),
        ("factorial(5)", 120),
        ("factorial(5.0)", 120),
        ("cos(0) + sin(0)", 1.0),
        ("1 < 2 < 3", True),
        ("1 < 3 < 2", False),
        ("2 + 2 == 4", True),
        ("3 != 3", False),
    ],
)
def test_allowed_expressions_give_the_arithmetic_result(expression: str, expected: object) -> None:
    assert run(expression) == expected


def test_trigonometry_uses_radians() -> None:
    assert math.isclose(run("tan(pi / 4)"), 1.0)  # type: ignore[arg-type]


def test_long_flat_sums_are_not_mistaken_for_deep_nesting() -> None:
    assert run("+".join(["1"] * 240)) == 240


def test_exact_integers_stay_exact() -> None:
    assert run("2 ** 100") == 1267650600228229401496703205376
    assert run("factorial(1000)") == math.factorial(1000)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("__import__('os')", "function not allowed"),
        ("open('f')", "function not allowed"),
        ("().__class__", "attribute access not allowed in a calculation"),
        ("(lambda: 1)()", "calling lambdas is not allowed; only the listed functions can be called"),
        ("[1, 2]", "lists not allowed in a calculation"),
        ("(1, 2)", "tuples not allowed in a calculation"),
        ('"a" * 10', "strings not allowed in a calculation"),
        ("f'{1}'", "strings not allowed in a calculation"),
        ("x", "unknown name"),
        ("[i for i in (1, 2)]", "comprehensions not allowed in a calculation"),
        ("{1: 2}[1]", "subscripts not allowed in a calculation"),
        ("1 if 1 else 2", "conditional expressions not allowed in a calculation"),
        ("1 and 2", "'and' / 'or' not allowed in a calculation"),
        ("(y := 2)", "assignments not allowed in a calculation"),
        ("round(2.5, ndigits=1)", "keyword arguments not allowed"),
        ("1 << 3", "operator not allowed"),
        ("not 1", "operator not allowed"),
        ("1 in 2", "comparison not allowed"),
        ("True + 1", "bool values not allowed in a calculation"),
        ("2j", "complex numbers not allowed in a calculation"),
        ("9**9**9", "result is too large"),
        ("10**10**10", "result is too large"),
        ("factorial(10**6)", "factorial needs a whole number from 0 to 1000"),
        ("factorial(-1)", "factorial needs a whole number from 0 to 1000"),
        ("(" * 10000 + "1" + ")" * 10000, "expression is too long"),
        ("1 + " * 200 + "1", "expression is too long"),
        ("(" * 60 + "1" + ")" * 60, "expression is nested too deeply"),
        ("-" * 400 + "1", "expression is nested too deeply"),
        ("2 *", "not a valid expression"),
        ("import os", "not a valid expression"),
        ("1\x00", "not a valid expression"),
        ("   ", "expression is empty"),
        ("1e999", "result is too large"),
        ("1e308 * 10", "result is too large"),
        ("2.0 ** 5000", "result is too large"),
        ("10 ** 2999 / 3", "result is too large"),
        ("sqrt(10 ** 2000)", "result is too large"),
        ("round(5, -10 ** 9)", "round's ndigits must be a whole number"),
        ("sqrt(1, 2)", "wrong number of arguments"),
    ],
)
def test_hostile_or_unsupported_input_is_refused_quickly_with_a_reason(expression: str, reason: str) -> None:
    started = time.perf_counter()
    error = refusal(expression)
    elapsed = time.perf_counter() - started
    assert error.message == reason
    assert elapsed < 0.05, f"refusing {expression[:40]!r} took {elapsed * 1000:.1f} ms"


def test_refusal_names_the_function_and_what_is_allowed() -> None:
    details = refusal("__import__('os')").as_result()
    assert details["function"] == "__import__"
    assert "sqrt" in details["allowed_functions"]


@pytest.mark.parametrize("expression", ["1 / 0", "1 // 0", "5 % 0", "0 ** -1", "log(10, 1)"])
def test_division_by_zero_is_a_clear_error(expression: str) -> None:
    assert refusal(expression).message == "division by zero"


@pytest.mark.parametrize("expression", ["sqrt(-1)", "log(0)", "log(-2)"])
def test_math_domain_errors_are_explained(expression: str) -> None:
    assert refusal(expression).message == "math domain error"


def test_negative_base_to_a_fractional_power_is_not_a_real_number() -> None:
    assert refusal("(-8) ** (1 / 3)").message == "result is not a real number"
