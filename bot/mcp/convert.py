"""MCP tool → Concierge tool value: a name OpenAI accepts, cleaned texts, a strict schema where meaning allows, checks.

Strictness, decided here: a schema is sent `strict` only when it can be made strict without changing what the server
receives. Every object must list its `properties`, may not allow extra properties (`additionalProperties` absent is
taken as false: the model is only ever told about the listed ones) and may use only the keywords strict mode knows;
no `$ref`, `oneOf`, `allOf`, `not`, `patternProperties`, length limits or the like. An optional property becomes
required and nullable, and a null the model sends for it is dropped before validation, so the server sees the
property left out, exactly as before; a property that already accepts null (null would then mean two things), and an
optional property inside `anyOf`, make the schema non-strict. A non-strict schema is sent as it is (cleaned) and the
arguments are still validated locally against the server's schema. A schema is read in the dialect its `$schema`
names (draft-07 tuple `items`, say), Draft 2020-12 without one; only draft-06 and later are ever made strict.

Cleaning: descriptions and titles lose invisible characters and are cut; the server's `default`, `examples` and
`$comment` are dropped (the model needs none of them). Property names, enum and const values, patterns and any other
text the server would compare against cannot be cleaned without changing what it accepts: a tool that hides
invisible characters there is left out.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft6Validator, Draft7Validator, Draft201909Validator, Draft202012Validator
from jsonschema import ValidationError as SchemaError
from jsonschema.exceptions import SchemaError as BadSchema
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

NAME_LIMIT = 64
DESCRIPTION_LIMIT = 1024
SCHEMA_TEXT_LIMIT = 300
SEPARATOR = "__"
_INVALID = re.compile(r"[^A-Za-z0-9_-]")
_STRICT_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf",
        "description", "title", "default", "examples", "$schema", "$comment",
        "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
        "minItems", "maxItems",
    }
)  # fmt: skip
_ANNOTATIONS = ("default", "examples", "$schema", "$comment")
_DROPPED = ("default", "examples", "$comment")  # the server's own texts the model is never shown, strict or not
_TEXT_KEYS = ("description", "title")
_NAMED = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies")
_NAMES = ("required", "dependentRequired")  # lists of property names (or name → list of names)
_STRICT_DIALECTS = (Draft6Validator, Draft7Validator, Draft201909Validator, Draft202012Validator)
_MAX_DEPTH = 10


class UnusableTool(Exception):
    """An MCP tool Concierge leaves out (its schema cannot be checked); the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class ConvertedSchema:
    """The schema the model is offered, whether it is strict, and where a null means "left out"."""

    offered: dict[str, Any]
    strict: bool
    optional_keys: Mapping[tuple[str, ...], frozenset[str]]  # object paths ("[]": array items) → left-out keys


def clean_text(text: str) -> str:
    """`text` without invisible format characters (Unicode tags, zero-width, bidi controls) or stray controls."""
    return "".join(
        char
        for char in text
        if char in "\n\t"
        or (
            unicodedata.category(char) not in ("Cf", "Cc", "Co", "Cs")
            and not 0xFE00 <= ord(char) <= 0xFE0F  # variation selectors
            and not 0xE0100 <= ord(char) <= 0xE01EF
        )
    )


def cut(text: str, limit: int) -> str:
    """`text` at most `limit` characters, marked with … when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def description_for(server: str, tool: str, description: str | None, title: str | None = None) -> str:
    """A clean description of sane length; an empty one gets a neutral sentence naming where the tool comes from."""
    text = clean_text(description or "").strip() or clean_text(title or "").strip()
    if not text:
        return f"The {clean_text(tool)!r} tool of the {server!r} MCP server (it gives no description)."
    return cut(text, DESCRIPTION_LIMIT)


def base_name(server: str, tool: str) -> tuple[str, bool]:
    """`server__tool` with invalid characters replaced, and whether it had to change to be valid."""
    name = f"{_INVALID.sub('_', server)}{SEPARATOR}{_INVALID.sub('_', clean_text(tool)) or 'tool'}"
    changed = name != f"{server}{SEPARATOR}{tool}" or len(name) > NAME_LIMIT
    return name, changed


def with_suffix(name: str, server: str, tool: str) -> str:
    """`name` made distinct by a stable hash of the original server and tool names, within the length limit."""
    digest = hashlib.sha256(f"{server}\0{tool}".encode()).hexdigest()[:8]
    return f"{name[: NAME_LIMIT - 9]}_{digest}"


def assign_names(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """One valid, distinct name per (server, tool): plain when possible, else with a stable suffix.

    A name that had to change (invalid characters, too long) always gets the suffix, so it does not depend on which
    other tools exist; two unchanged names that meet (server "a" tool "b__c", server "a__b" tool "c") are settled
    in sorted order: the first keeps the plain name.
    """
    names: dict[tuple[str, str], str] = {}
    taken: set[str] = set()
    for server, tool in sorted(pairs):
        name, changed = base_name(server, tool)
        if changed or name in taken:
            name = with_suffix(name, server, tool)
        taken.add(name)
        names[(server, tool)] = name
    return names


def validator_class(schema: Mapping[str, Any]) -> type[Validator]:
    """The validator of the dialect `schema` names in `$schema` (draft-07, ...); Draft 2020-12 when it names none."""
    dialect = schema.get("$schema")
    if dialect is not None and not isinstance(dialect, str):
        raise UnusableTool("its input schema's $schema is not a string")
    validator: type[Validator] = validator_for(schema, default=Draft202012Validator)
    return validator


def clean_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `schema` as the model may see it (see the module docstring); UnusableTool says why it cannot be.

    Refused: a root that is not an object, a schema its own dialect rejects, and invisible characters in property
    names, enum/const values, patterns or other texts the server compares against.
    """
    try:
        copied = copy.deepcopy(dict(schema))
        if copied.get("type", "object") != "object":
            raise UnusableTool(f"its input schema is of type {copied.get('type')!r}, not an object")
        copied.setdefault("type", "object")
        if copied["type"] == "object":
            copied.setdefault("properties", {})
        try:
            validator_class(copied).check_schema(copied)
        except BadSchema as error:
            raise UnusableTool(f"its input schema is not valid JSON Schema ({error.message[:120]})") from None
        hidden = _hidden_in_schema(copied)
        if hidden:
            raise UnusableTool(f"its input schema hides invisible characters in {hidden}")
        _clean_texts(copied)
    except RecursionError:
        raise UnusableTool("its input schema is nested too deeply") from None
    return copied


def _hidden(text: str) -> bool:
    return clean_text(text) != text


def _hidden_in_value(value: Any) -> bool:
    """Whether a value (an enum member, a const) holds a string or key with invisible characters anywhere in it."""
    if isinstance(value, str):
        return _hidden(value)
    if isinstance(value, dict):
        return any(_hidden(key) or _hidden_in_value(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_hidden_in_value(item) for item in value)
    return False


def _hidden_in_schema(node: Any) -> str | None:
    """Where a schema keeps invisible characters that cleaning may not remove (None if nowhere); texts the model is
    shown only to read (descriptions, titles) and those it is never shown (default, examples, $comment) are skipped."""
    if isinstance(node, list):
        return next((found for item in node if (found := _hidden_in_schema(item))), None)
    if isinstance(node, str):
        return "a keyword's value" if _hidden(node) else None
    if not isinstance(node, dict):
        return None
    for key, value in node.items():
        if _hidden(key):
            return "a keyword"
        if key in _DROPPED or (key in _TEXT_KEYS and isinstance(value, str)):
            continue
        if key in ("enum", "const"):
            found = f"{'an enum' if key == 'enum' else 'a const'} value" if _hidden_in_value(value) else None
        elif key == "pattern":
            found = "a pattern" if _hidden_in_value(value) else None
        elif key in _NAMES:
            found = "a property name" if _hidden_in_value(value) else None
        elif key in _NAMED and isinstance(value, dict):
            named = "a definition name" if key in ("$defs", "definitions") else "a property name"
            found = named if any(map(_hidden, value)) else _hidden_in_schema(list(value.values()))
        else:
            found = _hidden_in_schema(value)
        if found:
            return found
    return None


def _clean_texts(node: Any) -> None:
    """Clean and cut descriptions and titles, drop default/examples/$comment: in place, in schemas only (a property
    called `default` stays, and enum/const values are data, left as they are)."""
    if isinstance(node, dict):
        for key in _DROPPED:
            node.pop(key, None)
        for key, value in node.items():
            if key in _TEXT_KEYS and isinstance(value, str):
                node[key] = cut(clean_text(value), SCHEMA_TEXT_LIMIT)
            elif key in _NAMED and isinstance(value, dict):
                for child in value.values():
                    _clean_texts(child)
            elif key not in ("enum", "const", *_NAMES):
                _clean_texts(value)
    elif isinstance(node, list):
        for item in node:
            _clean_texts(item)


def convert_schema(schema: dict[str, Any]) -> ConvertedSchema:
    """The strict form of a cleaned schema when one keeps its meaning (see the module docstring), else as it is."""
    optional: dict[tuple[str, ...], frozenset[str]] = {}
    strict = copy.deepcopy(schema)
    if validator_class(schema) in _STRICT_DIALECTS and _make_strict(strict, (), optional, depth=0, in_any_of=False):
        return ConvertedSchema(offered=strict, strict=True, optional_keys=optional)
    return ConvertedSchema(offered=schema, strict=False, optional_keys={})


def _make_strict(
    node: Any, path: tuple[str, ...], optional: dict[tuple[str, ...], frozenset[str]], *, depth: int, in_any_of: bool
) -> bool:
    """Rewrite `node` in place into strict form; False when that would change its meaning."""
    if not isinstance(node, dict) or depth > _MAX_DEPTH or set(node) - _STRICT_KEYWORDS:
        return False
    for key in _ANNOTATIONS:
        node.pop(key, None)
    if "anyOf" in node:
        branches = node["anyOf"]
        return isinstance(branches, list) and all(
            _make_strict(branch, path, optional, depth=depth + 1, in_any_of=True) for branch in branches
        )
    kinds = node.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if not isinstance(kinds, list) or not kinds:
        return "enum" in node or "const" in node
    if "object" in kinds:
        if kinds != ["object"] or node.get("additionalProperties", False) is not False:
            return False
        properties = node.get("properties")
        if not isinstance(properties, dict):
            return False
        required = set(node.get("required", []))
        left_out = frozenset(properties) - required
        if left_out and in_any_of:
            return False
        for key, child in properties.items():
            if not _make_strict(child, (*path, key), optional, depth=depth + 1, in_any_of=in_any_of):
                return False
            if key in left_out:
                if _allows_null(child):
                    return False
                properties[key] = _nullable(child)
        if left_out:
            optional[path] = left_out
        node["required"] = list(properties)
        node["additionalProperties"] = False
        return True
    if "array" in kinds:
        items = node.get("items")
        return isinstance(items, dict) and _make_strict(
            items, (*path, "[]"), optional, depth=depth + 1, in_any_of=in_any_of
        )
    return True


def _allows_null(node: Mapping[str, Any]) -> bool:
    kinds = node.get("type")
    if kinds == "null" or (isinstance(kinds, list) and "null" in kinds):
        return True
    if None in node.get("enum", ()) or ("const" in node and node["const"] is None):
        return True
    return any(_allows_null(branch) for branch in node.get("anyOf", ()) if isinstance(branch, dict))


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    """`node` that also accepts null (how the model leaves the property out) and still everything it accepted."""
    if "const" in node:
        return {"anyOf": [node, {"type": "null"}]}
    widened = dict(node)
    if "enum" in node:
        widened["enum"] = [*node["enum"], None]
    kinds = node.get("type")
    if isinstance(kinds, str):
        widened["type"] = [kinds, "null"]
    elif isinstance(kinds, list):
        widened["type"] = [*kinds, "null"]
    elif "enum" not in node:
        return {"anyOf": [node, {"type": "null"}]}
    return widened


def drop_nulls_for_left_out(arguments: Any, optional: Mapping[tuple[str, ...], frozenset[str]]) -> Any:
    """`arguments` with the nulls the strict schema made the model send for left-out properties removed."""
    if not optional:
        return arguments
    return _drop(arguments, (), optional)


def _drop(value: Any, path: tuple[str, ...], optional: Mapping[tuple[str, ...], frozenset[str]]) -> Any:
    if isinstance(value, dict):
        left_out = optional.get(path, frozenset())
        return {
            key: _drop(item, (*path, key), optional)
            for key, item in value.items()
            if not (item is None and key in left_out)
        }
    if isinstance(value, list):
        return [_drop(item, (*path, "[]"), optional) for item in value]
    return value


def field_problems(validator: Validator, arguments: Any) -> list[dict[str, Any]]:
    """Each way `arguments` break the schema, as {"field", "problem", "given"} like the built-in tools' problems."""
    problems: list[dict[str, Any]] = []
    try:
        errors = sorted(validator.iter_errors(arguments), key=lambda error: list(map(str, error.absolute_path)))
    except RecursionError:
        return [{"field": "(arguments)", "problem": "the arguments are too deeply nested"}]
    for error in errors[:10]:
        problems.append(_problem(error))
    return problems


def _problem(error: SchemaError) -> dict[str, Any]:
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        name = missing[0] if missing else ""
        return {"field": ".".join([*path, name]) or "(arguments)", "problem": "Field required"}
    entry: dict[str, Any] = {"field": ".".join(path) or "(arguments)", "problem": cut(error.message, 200)}
    text = json.dumps(error.instance, ensure_ascii=False, default=str)
    entry["given"] = error.instance if len(text) <= 80 else text[:77] + "..."
    return entry
