"""The calculate tool: a small arithmetic evaluator over Python's `ast`, with every kind of work bounded."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Annotated

from pydantic import Field

from bot.engine.tools import ToolContext, ToolError, tool

Number = int | float
Value = int | float | bool

MAX_EXPRESSION_CHARS = 500
MAX_PAREN_DEPTH = 50
MAX_AST_DEPTH = 300
MAX_INTEGER_DIGITS = 3000
MAX_FACTORIAL = 1000
MAX_ROUND_DIGITS = 300

_LOG10_2 = math.log10(2)

_BINARY: Mapping[type[ast.operator], Callable[[Number, Number], Number]] = MappingProxyType(
    {
        ast.Add: operator.add,
        ast.Sub: operator.sub,
        ast.Mult: operator.mul,
        ast.Div: operator.truediv,
        ast.FloorDiv: operator.floordiv,
        ast.Mod: operator.mod,
    }
)
_COMPARE: Mapping[type[ast.cmpop], Callable[[Number, Number], bool]] = MappingProxyType(
    {
        ast.Eq: operator.eq,
        ast.NotEq: operator.ne,
        ast.Lt: operator.lt,
        ast.LtE: operator.le,
        ast.Gt: operator.gt,
        ast.GtE: operator.ge,
    }
)
_OPERATOR_SYMBOLS: Mapping[type[ast.operator], str] = MappingProxyType(
    {ast.LShift: "<<", ast.RShift: ">>", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.MatMult: "@"}
)
_CONSTANTS: Mapping[str, float] = MappingProxyType({"pi": math.pi, "e": math.e})
_FUNCTION_ARITY: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "sqrt": (1, 1),
        "log": (1, 2),
        "sin": (1, 1),
        "cos": (1, 1),
        "tan": (1, 1),
        "abs": (1, 1),
        "round": (1, 2),
        "floor": (1, 1),
        "ceil": (1, 1),
        "factorial": (1, 1),
    }
)
_REFUSED: Mapping[type[ast.AST], str] = MappingProxyType(
    {
        ast.Attribute: "attribute access",
        ast.Subscript: "subscripts",
        ast.Lambda: "lambdas",
        ast.ListComp: "comprehensions",
        ast.SetComp: "comprehensions",
        ast.DictComp: "comprehensions",
        ast.GeneratorExp: "comprehensions",
        ast.List: "lists",
        ast.Tuple: "tuples",
        ast.Set: "sets",
        ast.Dict: "dictionaries",
        ast.JoinedStr: "strings",
        ast.BoolOp: "'and' / 'or'",
        ast.IfExp: "conditional expressions",
        ast.NamedExpr: "assignments",
        ast.Starred: "unpacking",
        ast.Await: "await",
        ast.Yield: "yield",
        ast.YieldFrom: "yield",
        ast.Slice: "slices",
    }
)


@tool(timeout=5)
def calculate(
    context: ToolContext[object],
    expression: Annotated[
        str,
        Field(description="The arithmetic expression, e.g. 123 * 456 or sqrt(2) / 3 (at most 500 characters)"),
    ],
) -> dict[str, object]:
    """Evaluate an arithmetic expression exactly and return its result; use it instead of doing arithmetic yourself.

    Allowed: integers and decimals, + - * / // % ** (power), parentheses, unary minus, comparisons (< <= == != >= >,
    chained like 1 < x < 3) giving true/false, the functions sqrt, log(x) or log(x, base), sin, cos, tan (radians),
    abs, round(x) or round(x, ndigits), floor, ceil, factorial(n) for whole n up to 1000, and the constants pi and e.
    Nothing else: no variables, strings, lists or other Python.
    """
    return {"expression": expression, "result": evaluate(expression)}


def evaluate(expression: str) -> Value:
    """Evaluate a calculator expression, raising ToolError with a clear reason for anything not allowed."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ToolError("expression is too long", max_chars=MAX_EXPRESSION_CHARS, length=len(expression))
    if not expression.strip():
        raise ToolError("expression is empty")
    if _paren_depth(expression) > MAX_PAREN_DEPTH:
        raise ToolError("expression is nested too deeply", max_depth=MAX_PAREN_DEPTH)
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        raise ToolError("not a valid expression", detail=error.msg) from None
    except (RecursionError, MemoryError, ValueError):
        raise ToolError("not a valid expression") from None
    if _ast_depth(tree) > MAX_AST_DEPTH:
        raise ToolError("expression is nested too deeply", max_depth=MAX_AST_DEPTH)
    try:
        return _evaluate(tree.body)
    except ZeroDivisionError:
        raise ToolError("division by zero") from None
    except OverflowError:
        raise ToolError("result is too large", max_digits=MAX_INTEGER_DIGITS) from None


def _paren_depth(text: str) -> int:
    """The deepest bracket nesting in the raw text, checked before parsing so absurd nesting is refused cheaply."""
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest


def _ast_depth(tree: ast.AST) -> int:
    """The depth of the syntax tree, computed without recursion."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _evaluate(node: ast.expr) -> Value:
    """Evaluate one allowed node; refuse every other kind by name."""
    if isinstance(node, ast.Constant):
        return _constant(node.value)
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise ToolError("unknown name", name=node.id, allowed_constants=sorted(_CONSTANTS))
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return _checked(-_evaluate(node.operand))
        if isinstance(node.op, ast.UAdd):
            return _evaluate(node.operand)
        raise ToolError("operator not allowed", operator="not" if isinstance(node.op, ast.Not) else "~")
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow):
            return _power(left, right)
        function = _BINARY.get(type(node.op))
        if function is None:
            raise ToolError(
                "operator not allowed", operator=_OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
            )
        return _checked(function(left, right))
    if isinstance(node, ast.Compare):
        return _compare(node)
    if isinstance(node, ast.Call):
        return _call(node)
    raise ToolError(f"{_REFUSED.get(type(node), type(node).__name__)} not allowed in a calculation")


def _constant(value: object) -> Value:
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "strings" if isinstance(value, str | bytes) else f"{type(value).__name__} values"
        if isinstance(value, complex):
            kind = "complex numbers"
        raise ToolError(f"{kind} not allowed in a calculation")
    return _checked(value)


def _checked(value: Number) -> Number:
    """Refuse results too large to show (huge integers, infinities) and NaN."""
    if isinstance(value, float):
        if math.isnan(value):
            raise ToolError("result is not a number")
        if math.isinf(value):
            raise ToolError("result is too large", max_digits=MAX_INTEGER_DIGITS)
    elif isinstance(value, int) and value.bit_length() * _LOG10_2 > MAX_INTEGER_DIGITS:
        raise ToolError("result is too large", max_digits=MAX_INTEGER_DIGITS)
    return value


def _power(base: Number, exponent: Number) -> Number:
    """base ** exponent, refused before computing when the result would have too many digits."""
    if (
        isinstance(base, int)
        and isinstance(exponent, int)
        and exponent > 0
        and abs(base) > 1
        and exponent * math.log10(abs(base)) > MAX_INTEGER_DIGITS
    ):
        raise ToolError("result is too large", max_digits=MAX_INTEGER_DIGITS)
    result = base**exponent
    if isinstance(result, complex):
        raise ToolError("result is not a real number", detail="a negative number to a fractional power")
    return _checked(result)


def _compare(node: ast.Compare) -> bool:
    """A comparison, chained like Python's: 1 < 2 < 3 is true."""
    left = _evaluate(node.left)
    for op, comparator in zip(node.ops, node.comparators, strict=True):
        function = _COMPARE.get(type(op))
        if function is None:
            raise ToolError(
                "comparison not allowed", operator=type(op).__name__, allowed=["<", "<=", "==", "!=", ">=", ">"]
            )
        right = _evaluate(comparator)
        if not function(left, right):
            return False
        left = right
    return True


def _call(node: ast.Call) -> Number:
    if not isinstance(node.func, ast.Name):
        kind = _REFUSED.get(type(node.func), "expressions")
        raise ToolError(f"calling {kind} is not allowed; only the listed functions can be called")
    name = node.func.id
    if name not in _FUNCTION_ARITY:
        raise ToolError("function not allowed", function=name, allowed_functions=sorted(_FUNCTION_ARITY))
    if node.keywords:
        raise ToolError("keyword arguments not allowed", function=name)
    least, most = _FUNCTION_ARITY[name]
    if not least <= len(node.args) <= most:
        expected = str(least) if least == most else f"{least} or {most}"
        raise ToolError("wrong number of arguments", function=name, expected=expected, given=len(node.args))
    args = [_evaluate(arg) for arg in node.args]
    try:
        return _checked(_apply(name, args))
    except ValueError:
        raise ToolError("math domain error", function=name, detail=f"{name} is not defined for these values") from None


def _apply(name: str, args: list[Number]) -> Number:
    """Call one allowed function on already evaluated arguments."""
    first = args[0]
    if name == "sqrt":
        return math.sqrt(first)
    if name == "log":
        return math.log(first, args[1]) if len(args) == 2 else math.log(first)
    if name == "sin":
        return math.sin(first)
    if name == "cos":
        return math.cos(first)
    if name == "tan":
        return math.tan(first)
    if name == "abs":
        return abs(first)
    if name == "floor":
        return math.floor(first)
    if name == "ceil":
        return math.ceil(first)
    if name == "round":
        if len(args) == 1:
            return round(first)
        digits = args[1]
        if not isinstance(digits, int) or abs(digits) > MAX_ROUND_DIGITS:
            raise ToolError(
                "round's ndigits must be a whole number", minimum=-MAX_ROUND_DIGITS, maximum=MAX_ROUND_DIGITS
            )
        return round(first, digits)
    if name == "factorial":
        if isinstance(first, float) and first.is_integer():
            first = int(first)
        if not isinstance(first, int) or not 0 <= first <= MAX_FACTORIAL:
            raise ToolError("factorial needs a whole number from 0 to 1000", given=str(first)[:40])
        return math.factorial(first)
    raise ToolError("function not allowed", function=name, allowed_functions=sorted(_FUNCTION_ARITY))
