"""`python -m bot check`: ask the configured model server, through the bot's own adapters, whether the bot can work."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import openai

from bot.engine.api import TOOL_CHOICE_MODES, ModelAPI, ModelReply, ToolChoice, ToolSpec, is_forced, is_mode
from bot.engine.api.chat import ChatAPI
from bot.engine.api.failures import map_openai_error
from bot.engine.api.features import Feature, FeatureModes, LimitField, Mode
from bot.engine.api.responses import ResponsesAPI
from bot.engine.errors import ModelError, ModelRejectedRequest
from bot.engine.items import AssistantMessage, ImagePart, Item, ToolOutput, UserMessage
from bot.engine.progress import NoProgress

ADD_TOOL = ToolSpec(
    name="add",
    description="Add two integers and return their sum.",
    parameters={
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
        "additionalProperties": False,
    },
    strict=True,
)
_INSTRUCTIONS = "You are being tested. Use the add tool whenever asked to add numbers, then state the result."
_ADD_PROMPT = "What is 17 + 25? Use the add tool."
_ENDPOINTS = {"responses": "Responses API (POST /responses)", "chat": "Chat Completions API (POST /chat/completions)"}


@dataclass(frozen=True)
class CheckLine:
    """One check's outcome; a failed line with `warning` is advice, not a reason the bot cannot work."""

    name: str
    ok: bool
    detail: str
    warning: bool = False

    @property
    def mark(self) -> str:
        """✓ passed, ! worth a look, ✗ failed."""
        if self.ok:
            return "✓"
        return "!" if self.warning else "✗"


@dataclass(frozen=True)
class CheckSection:
    """One part of `concierge check` (settings, prompt, database, model server): its lines, and whether it passed."""

    title: str
    lines: tuple[CheckLine, ...]
    ok: bool | None = None  # None: passed unless a line is ✗ (a warning does not fail it)

    @classmethod
    def failed(cls, title: str, name: str, detail: str) -> CheckSection:
        """A section of one ✗ line."""
        return cls(title, (CheckLine(name, False, detail),), ok=False)

    @property
    def passed(self) -> bool:
        """The section's own verdict, else: no ✗ line."""
        return self.ok if self.ok is not None else all(line.ok or line.warning for line in self.lines)


def render_checkup(sections: Sequence[CheckSection]) -> str:
    """Every section's lines under its title, then one verdict that covers them all."""
    out: list[str] = []
    for section in sections:
        out.append(section.title)
        out += [f"  {line.mark} {line.name}: {line.detail}" for line in section.lines]
    failed = [section.title.split(":")[0] for section in sections if not section.passed]
    if failed:
        out.append(f"NOT ready ({', '.join(failed)}): fix the ✗ lines above")
    else:
        out.append("ready: the bot can start with this configuration")
    return "\n".join(out)


@dataclass(frozen=True)
class CheckReport:
    """All check lines, and whether the bot can work with this server at all."""

    lines: tuple[CheckLine, ...]
    ok: bool

    def render(self) -> str:
        """The report as text, one line per check, then a verdict."""
        body = [f"{line.mark} {line.name}: {line.detail}" for line in self.lines]
        verdict = "ready: the bot can work with this server" if self.ok else "NOT ready: fix the ✗ lines above"
        return "\n".join([*body, verdict])


async def check_model_server(
    client: openai.AsyncOpenAI,
    *,
    model: str,
    api: Literal["responses", "chat"],
    features: FeatureModes | None = None,
    limit_field: LimitField = "max_tokens",
    vision: bool = True,
) -> CheckReport:
    """Run every check in order; stop early when the server cannot be reached or the chosen API does not answer.
    `vision` is the VISION setting, which the image check advises on."""
    adapter: ModelAPI = (
        ResponsesAPI(client, model=model, features=features)
        if api == "responses"
        else ChatAPI(client, model=model, features=features)
    )
    lines: list[CheckLine] = []

    reachable, listed = await _check_models(client, model=model, api=api)
    lines += [reachable, listed]
    if not reachable.ok:
        return CheckReport(lines=tuple(lines), ok=False)

    answering = await _check_answering(adapter, api=api)
    lines.append(answering)
    if not answering.ok:
        return CheckReport(lines=tuple(lines), ok=False)

    round_trip = await _check_round_trip(adapter)
    lines.append(round_trip)
    for choice in (*TOOL_CHOICE_MODES, ADD_TOOL.name):
        lines.append(await _check_tool_choice(adapter, choice))
    lines.append(await check_image_input(adapter, vision=vision))
    lines += await check_request_features(client, model=model, api=api, modes=features, limit_field=limit_field)
    return CheckReport(lines=tuple(lines), ok=round_trip.ok)


async def _check_models(
    client: openai.AsyncOpenAI, *, model: str, api: Literal["responses", "chat"]
) -> tuple[CheckLine, CheckLine]:
    """GET /models: is the server there, and does it list the configured model?"""
    where = str(client.base_url)
    try:
        page = await client.models.list()
    except openai.APIStatusError as error:
        reachable = CheckLine("server reachable", True, f"{where} answered (GET /models gave {error.status_code})")
        return reachable, CheckLine("model listed", False, "the server does not list its models", warning=True)
    except openai.OpenAIError as error:
        detail = map_openai_error(error, api=api, model=model, secret=client.api_key).detail
        return CheckLine("server reachable", False, f"{where}: {detail}"), CheckLine(
            "model listed", False, "skipped: server unreachable"
        )
    names = [entry.id for entry in page.data]
    reachable = CheckLine("server reachable", True, f"{where} ({len(names)} models)")
    if model in names:
        return reachable, CheckLine("model listed", True, model)
    shown = ", ".join(names[:8]) + (", …" if len(names) > 8 else "")
    detail = f"{model} is not in the server's list ({shown or 'empty'}); it may still work, else check OPENAI_MODEL"
    return reachable, CheckLine("model listed", False, detail, warning=True)


async def _check_answering(adapter: ModelAPI, *, api: Literal["responses", "chat"]) -> CheckLine:
    """A tiny prompt with no tools through the chosen API."""
    name = _ENDPOINTS[api]
    try:
        reply = await adapter.respond(
            instructions="Reply with the single word: ok",
            items=[UserMessage(text="ping")],
            tools=[],
            tool_choice="auto",
        )
    except ModelError as error:
        return CheckLine(name, False, error.detail)
    return CheckLine(name, True, f"answered {_short(reply.text)}")


async def _check_round_trip(adapter: ModelAPI) -> CheckLine:
    """Offer `add`, run the call locally, send the result back, and get the model's answer."""
    name = "tool call round trip"
    history: list[Item] = [UserMessage(text=_ADD_PROMPT)]
    first: ModelReply | None = None
    rejected = ""
    for choice in (ADD_TOOL.name, "auto"):  # forced first; some servers refuse forcing, so fall back to auto
        try:
            first = await adapter.respond(
                instructions=_INSTRUCTIONS, items=history, tools=[ADD_TOOL], tool_choice=choice
            )
        except ModelError as error:
            rejected = error.detail
            continue
        if first.calls:
            break
    if first is None:
        return CheckLine(name, False, f"request with a tool refused: {rejected}")
    if not first.calls:
        return CheckLine(
            name, False, f"the model made no tool call (answered {_short(first.text)}): tools will not work"
        )
    if first.text:
        history.append(AssistantMessage(text=first.text))
    history += first.calls
    results = [_run_add(call.arguments) for call in first.calls]
    history += [
        ToolOutput(call_id=call.call_id, output=output) for call, (output, _) in zip(first.calls, results, strict=True)
    ]
    shown = results[0][1]
    try:
        answer = await adapter.respond(instructions=_INSTRUCTIONS, items=history, tools=[ADD_TOOL], tool_choice="auto")
    except ModelError as error:
        return CheckLine(name, False, f"{shown}, but sending the result back failed: {error.detail}")
    said = f"answered {_short(answer.text)}" if answer.text else "called a tool again instead of answering"
    return CheckLine(name, True, f"{shown}; {said}")


def _run_add(arguments: str) -> tuple[str, str]:
    """Execute `add` for the check: (output for the model, what to show the admin)."""
    try:
        values = json.loads(arguments)
        total = int(values["a"]) + int(values["b"])
    except (ValueError, TypeError, KeyError, RecursionError) as error:
        message = f"invalid arguments {arguments[:80]!r}"
        return json.dumps({"error": f"{message}: {type(error).__name__}"}), message
    return json.dumps({"sum": total}), f"add({values['a']}, {values['b']}) = {total}"


async def _check_tool_choice(adapter: ModelAPI, choice: ToolChoice) -> CheckLine:
    """Is this tool_choice form accepted, and does the model obey it?"""
    name = f"tool_choice {choice if is_mode(choice) else 'named (' + choice + ')'}"
    try:
        reply = await adapter.respond(
            instructions=_INSTRUCTIONS, items=[UserMessage(text=_ADD_PROMPT)], tools=[ADD_TOOL], tool_choice=choice
        )
    except ModelError as error:
        fallback = "; the bot retries a forced choice with auto" if is_forced(choice) else ""
        return CheckLine(name, False, f"rejected: {error.detail}{fallback}")
    called = bool(reply.calls)
    if choice == "auto":
        return CheckLine(name, True, "accepted (" + ("called the tool" if called else "answered in text") + ")")
    if choice == "none":
        if called:
            return CheckLine(name, False, "accepted but ignored (called a tool anyway)", warning=True)
        return CheckLine(name, True, "accepted (no call)")
    if called:
        return CheckLine(name, True, "accepted (a call came back)")
    return CheckLine(name, False, "accepted but ignored (no call came back)", warning=True)


# An 8x8 red square: the smallest image a vision model can still name the colour of.
_RED_SQUARE = ImagePart(
    filename="red-square.png",
    media_type="image/png",
    data="iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGO4IyeHFTEMLQkAid1GAXiz9RcAAAAASUVORK5CYII=",
)


async def check_image_input(adapter: ModelAPI, *, vision: bool) -> CheckLine:
    """Does the server accept an image in a member's message (one tiny PNG)? Advice on VISION either way; a
    text-only server is not a failure: with VISION=false members' images are never sent."""
    name = "image input"
    message = UserMessage(text="What colour is this square? Answer with one word.", attachments=(_RED_SQUARE,))
    try:
        reply = await adapter.respond(instructions="Answer in one word.", items=[message], tools=[], tool_choice="auto")
    except ModelRejectedRequest as error:
        if not vision:
            return CheckLine(name, True, f"refused ({error.detail}); VISION=false, so images are not sent")
        detail = f"refused ({error.detail}): set VISION=false (images are not sent; members are told why)"
        return CheckLine(name, False, detail, warning=True)
    except ModelError as error:
        return CheckLine(name, False, f"could not be tried: {error.detail}", warning=True)
    if not vision:
        detail = f"accepted (answered {_short(reply.text)}); set VISION=true to let the model see members' images"
        return CheckLine(name, False, detail, warning=True)
    return CheckLine(name, True, f"accepted (answered {_short(reply.text)})")


def _short(text: str, limit: int = 60) -> str:
    """A reply quoted on one line, cut to `limit` characters."""
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


# The optional request features (issue 22), each tried alone, as the bot sends it: on `auto`, the others off.
_ALL_OFF = FeatureModes(reasoning_replay="off", stream_usage="off", prompt_cache_key="off")
_PING = "Reply with the single word: ok"


async def check_request_features(
    client: openai.AsyncOpenAI,
    *,
    model: str,
    api: Literal["responses", "chat"],
    modes: FeatureModes | None = None,
    limit_field: LimitField = "max_tokens",
) -> list[CheckLine]:
    """Which optional request features the server accepts, and which name of the output limit it takes.

    A feature the server rejects or ignores is advice (!), never a reason the bot cannot work: the bot drops a
    rejected one after the first rejection and does without what it brings.
    """
    modes = modes or FeatureModes()
    lines: list[CheckLine] = []
    if api == "responses":
        replay = ResponsesAPI(client, model=model, features=replace(_ALL_OFF, reasoning_replay="auto"))
        lines.append(await _probe(replay, Feature.REASONING_REPLAY, "OPENAI_REASONING_REPLAY", modes.reasoning_replay))
        cache = ResponsesAPI(client, model=model, features=replace(_ALL_OFF, prompt_cache_key="auto"))
        lines.append(await _probe(cache, Feature.PROMPT_CACHE_KEY, "OPENAI_PROMPT_CACHE_KEY", modes.prompt_cache_key))
        return lines
    usage = ChatAPI(client, model=model, stream=True, features=replace(_ALL_OFF, stream_usage="auto"))
    lines.append(await _probe(usage, Feature.STREAM_USAGE, "OPENAI_STREAM_USAGE", modes.stream_usage))
    chat_cache = ChatAPI(client, model=model, features=replace(_ALL_OFF, prompt_cache_key="auto"))
    lines.append(await _probe(chat_cache, Feature.PROMPT_CACHE_KEY, "OPENAI_PROMPT_CACHE_KEY", modes.prompt_cache_key))
    lines.append(await _probe_output_limit(client, model=model, first=limit_field))
    return lines


async def _probe(adapter: ChatAPI | ResponsesAPI, feature: Feature, setting: str, mode: Mode) -> CheckLine:
    """Send one small request with `feature` and say whether the server accepted it, and whether it worked."""
    name = feature.value
    listener = _Listener()
    try:
        reply = await adapter.respond(
            instructions=_PING,
            items=[UserMessage(text="ping")],
            tools=[],
            tool_choice="auto",
            progress=listener,
            cache_key="concierge-check",
        )
    except ModelError as error:
        return CheckLine(name, False, f"could not be tried: {error.detail}", warning=True)
    if not adapter.features.sends(feature):
        then = {
            "auto": "the bot stops sending it after the first rejection",
            "on": f"{setting}=on sends it anyway, so those requests fail: set it to auto",
            "off": f"not sent ({setting}=off)",
        }[mode]
        said = adapter.features.rejection(feature) or "rejected"
        return CheckLine(name, False, f"rejected ({said}); {then}", warning=True)
    if feature is Feature.STREAM_USAGE and listener.restarted:
        return CheckLine(name, False, "not tried: the server did not stream (the bot answers it plain)", warning=True)
    off = f"; not sent ({setting}=off): set it to auto to use it" if mode == "off" else ""
    if feature is Feature.STREAM_USAGE and reply.usage is None:
        return CheckLine(name, False, f"accepted, but no usage came back (tokens are estimated){off}", warning=True)
    if feature is Feature.REASONING_REPLAY and not reply.reasoning:
        detail = "accepted; no encrypted reasoning came back (not a reasoning model, or the server keeps it)"
        return CheckLine(name, True, detail + off)
    worked = {
        Feature.REASONING_REPLAY: "accepted; encrypted reasoning came back and is replayed between tool rounds",
        Feature.STREAM_USAGE: "accepted; streamed answers end with their usage",
        Feature.PROMPT_CACHE_KEY: "accepted (cached input shows in /usage)",
    }[feature]
    return CheckLine(name, True, worked + off)


async def _probe_output_limit(client: openai.AsyncOpenAI, *, model: str, first: LimitField) -> CheckLine:
    """Which name of the Chat output limit the server takes (the bot swaps to the other after a rejection)."""
    probe = ChatAPI(client, model=model, max_output_tokens=64, output_limit_field=first, features=_ALL_OFF)
    try:
        await probe.respond(instructions=_PING, items=[UserMessage(text="ping")], tools=[], tool_choice="auto")
    except ModelError as error:
        return CheckLine("output limit", False, f"refused under either name: {error.detail}", warning=True)
    taken = probe.features.limit_field
    if taken == first:
        return CheckLine("output limit", True, f"accepted as {taken}")
    said = probe.features.rejection(first) or "rejected"
    return CheckLine(
        "output limit", True, f"{first} rejected ({said}); {taken} accepted, the bot swaps after one rejection"
    )


class _Listener(NoProgress):
    """Notices when a streamed answer had to start over without streaming."""

    restarted = False

    def answer_discarded(self) -> None:
        """The stream failed and the answer is asked for again, plain."""
        self.restarted = True
