"""Tool specs shared by the adapter wire tests."""

from bot.engine.api import ToolSpec

ADD = ToolSpec(
    name="add",
    description="Add two integers.",
    parameters={
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
        "additionalProperties": False,
    },
)
WEATHER = ToolSpec(name="weather", description="Weather for a city.", parameters={"type": "object", "properties": {}})
