"""search_web against local Wikipedia, DuckDuckGo and SearXNG stand-ins serving recorded answers."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import aiohttp
import pytest

import tools._html
import tools.web_search
from bot.engine.permissions import Caller, Place
from bot.engine.tools import ToolContext, ToolError
from tests.tools.conftest import FixtureServer
from tools._html import MAX_ANSWER_CHARS, MAX_ANSWER_FRAGMENTS, MAX_FRAGMENT_CHARS, Fragment, read_fragment
from tools._http import USER_AGENT
from tools.web_search import WebSearchConfig, plain_text, search_web, wikipedia_page_url

WIKIPEDIA = "/w/api.php"
DUCKDUCKGO = "/"
SEARXNG = "/search"


def make_context(
    session: aiohttp.ClientSession, server: FixtureServer, *, searxng: bool = False, timeout_seconds: float = 2
) -> ToolContext:
    """A tool context whose search services all point at the fixture server."""
    config = WebSearchConfig(
        searxng_url=server.url if searxng else None,
        wikipedia_url=server.url,
        duckduckgo_url=server.url,
        timeout_seconds=timeout_seconds,
    )
    return ToolContext(
        caller=Caller(user_id="1", name="ann"),
        place=Place(channel_id="c", guild_id="g"),
        services=SimpleNamespace(http=session, web_search=config),
    )


async def search(context: ToolContext, query: str) -> dict[str, object]:
    """Call the tool as the executor does."""
    return await search_web.invoke(context, search_web.arguments(query=query))


def results(answer: dict[str, object]) -> list[dict[str, str]]:
    """The answer's results, typed for the assertions."""
    found = answer["results"]
    assert isinstance(found, list)
    return found


@pytest.mark.asyncio
async def test_instant_answer_leads_then_wikipedia_then_related_topics_without_repeats_or_bare_categories(
    session: aiohttp.ClientSession, fixture_server: FixtureServer
) -> None:
    fixture_server.reply(WIKIPEDIA, "wikipedia_python.json")
    fixture_server.reply(DUCKDUCKGO, "duckduckgo_python.json")
    answer = await search(make_context(session, fixture_server), "python language")
    base = fixture_server.url
    assert answer["query"] == "python language"
    assert [(hit["title"], hit["url"]) for hit in results(answer)] == [
        ("Python (programming language)", f"{base}/wiki/Python_(programming_language)"),
        ("Monty Python's Flying Circus", f"{base}/wiki/Monty_Python%27s_Flying_Circus"),
        ("Pythonidae", f"{base}/wiki/Pythonidae"),
        ("Guido van Rossum", "https://duckduckgo.com/Guido_van_Rossum"),
        ("CPython", "https://duckduckgo.com/CPython"),
    ]
    assert "note" not in answer
    assert "unavailable" not in answer
    assert all(set(hit) == {"title", "snippet", "url"} for hit in results(answer))


@pytest.mark.asyncio
async def test_snippets_are_short_plain_text(session: aiohttp.ClientSession, fixture_server: FixtureServer) -> None:
    fixture_server.reply(WIKIPEDIA, "wikipedia_python.json")
    fixture_server.reply(DUCKDUCKGO, "duckduckgo_python.json")
    hits = results(await search(make_context(session, fixture_server), "python"))
    snippets = {hit["title"]: hit["snippet"] for hit in hits}
    assert snippets["Monty Python's Flying Circus"].startswith("Monty Python's Flying Circus is a British surreal")
    assert snippets["Monty Python's Flying Circus"].endswith("Terry Jones & Michael Palin")
    assert snippets["Pythonidae"].startswith('The Pythonidae, commonly known as "pythons", are')
    assert snippets["Guido van Rossum"] == "Dutch programmer, creator of the Python programming language."
    assert snippets["CPython"] == "The reference implementation of the Python programming language."
    instant = snippets["Python (programming language)"]
    assert len(instant) <= 300
    assert instant.endswith("…")
    assert instant.startswith("Python is a high-level, general-purpose programming language.")
    assert all("<" not in hit["snippet"] and "&quot;" not in hit["snippet"] for hit in hits)


@pytest.mark.asyncio
async def test_both_services_are_asked_with_the_user_agent_and_documented_parameters(
    session: aiohttp.ClientSession, fixture_server: FixtureServer
) -> None:
    fixture_server.reply(WIKIPEDIA, "wikipedia_python.json")
    fixture_server.reply(DUCKDUCKGO, "duckduckgo_python.json")
    await search(make_context(session, fixture_server), "  python   language ")
    by_path = {request.path: request for request in fixture_server.requests}
    assert set(by_path) == {WIKIPEDIA, DUCKDUCKGO}
    assert all(request.user_agent == USER_AGENT for request in fixture_server.requests)
    assert by_path[WIKIPEDIA].query == {
        "action": "query",
        "list": "search",
        "srsearch": "python language",
        "format": "json",
        "srlimit": "5",
        "utf8": "1",
    }
    assert by_path[DUCKDUCKGO].query == {"q": "python language", "format": "json", "no_html": "1", "skip_disambig": "1"}


@pytest.mark.asyncio
async def test_one_service_failing_still_gives_the_others_results(
    session: aiohttp.ClientSession, fixture_server: FixtureServer
) -> None:
    fixture_server.reply(WIKIPEDIA, "wikipedia_python.json")
    fixture_server.reply(DUCKDUCKGO, status=500)
    answer = await search(make_context(session, fixture_server), "python")
    assert [hit["title"] for hit in results(answer)] == [
        "Python (programming language)",
        "Monty Python's Flying Circus",
        "Pythonidae",
    ]
    assert answer["unavailable"] == ["DuckDuckGo is having problems (HTTP 500); try again later"]


@pytest.mark.asyncio
async def test_a_service_that_times_out_is_named_while_the_other_answers(
    session: aiohttp.ClientSession, fixture_server: FixtureServer
) -> None:
    fixture_server.hang(WIKIPEDIA)
    fixture_server.reply(DUCKDUCKGO, "duckduckgo_python.json")
    answer = await search(make_context(session, fixture_server, timeout_seconds=0.1), "python")
    assert results(answer)[0]["title"] == "Python (programming language)"
    assert answer["unavailable"] == ["Wikipedia did not answer within 0.1 seconds"]


@pytest.mark.asyncio
async def test_services_are_asked_concurrently(session: aiohttp.ClientSession, fixture_server: FixtureServer) -> None:
    fixture_server.hang(WIKIPEDIA)
    fixture_server.hang(DUCKDUCKGO)
    started = time.perf_counter()
    with pytest.raises(ToolError):
        await search(make_context(session, fixture_server, timeout_seconds=0.3), "python")
    assert time.perf_counter() - started < 0.55  # one after the other would take at least 0.6 s


@pytest.mark.asyncio
async def test_both_services_failing_is_a_clear_error(
    session: aiohttp.ClientSession, fixture_server: FixtureServer
) -> None:
    fixture_server.hang(WIKIPEDIA)
    fixture_server.reply(DUCKDUCKGO, raw=b"not json at all")
    with pytest.raises(ToolError) as caught:
        await search(make_context(session, fixture_server, timeout_seconds=0.1), "python")
    assert caught.value.as_result() == {
        "error": "web search is unavailable right now; try again later",
        "query": "python",
        "failures": ["DuckDuckGo sent an answer that could not be read", "Wikipedia did not answer within 0.1 seconds"],
    }


@pytest.mark.asyncio
async def test_nothing_found_is_a_normal_result_with_a_note(
    session: aiohttp.ClientSession, fixture_server: FixtureServer
) -> None:
    fixture_server.reply(WIKIPEDIA, "wikipedia_empty.json")
    fixture_server.reply(DUCKDUCKGO, "duckduckgo_empty.json")
    answer = await search(make_context(session, fixture_server), "qwxzvbnmasdf")
    assert answer == {"query": "qwxzvbnmasdf", "results": [], "note": "no results"}


@pytest.mark.asyncio
async def test_wikipedia_api_error_is_reported_as_that_service_being_unavailable(
    session: aiohttp.ClientSession, fixture_server: FixtureServer
) -> None:
    fixture_server.reply(WIKIPEDIA, "wikipedia_error.json")
    fixture_server.reply(DUCKDUCKGO, "duckduckgo_empty.json")
    answer = await search(make_context(session, fixture_server), "python")
    assert answer == {
        "query": "python",
        "results": [],
        "note": "no results",
        "unavailable": ["Wikipedia refused the search: text search is disabled."],
    }


@pytest.mark.asyncio
async def test_searxng_replaces_the_default_services_when_configured(
    session: aiohttp.ClientSession, fixture_server: FixtureServer
) -> None:
    fixture_server.reply(SEARXNG, "searxng_python.json")
    answer = await search(make_context(session, fixture_server, searxng=True), "python language")
    assert results(answer) == [
        {
            "title": "Welcome to Python.org",
            "snippet": "The official home of the Python Programming Language.",
            "url": "https://www.python.org/",
        },
        {
            "title": "Python (programming language) - Wikipedia",
            "snippet": "Python is a high-level, general-purpose programming language. Its design philosophy emphasizes "
            "code readability with the use of significant indentation.",
            "url": "https://en.wikipedia.org/wiki/Python_(programming_language)",
        },
        {
            "title": "The Python Tutorial — Python 3 documentation",
            "snippet": "",
            "url": "https://docs.python.org/3/tutorial/",
        },
    ]
    assert [(request.path, request.query) for request in fixture_server.requests] == [
        (SEARXNG, {"q": "python language", "format": "json"})
    ]
    assert fixture_server.requests[0].user_agent == USER_AGENT


@pytest.mark.asyncio
async def test_searxng_with_no_results_is_a_normal_result(
    session: aiohttp.ClientSession, fixture_server: FixtureServer
) -> None:
    fixture_server.reply(SEARXNG, "searxng_empty.json")
    answer = await search(make_context(session, fixture_server, searxng=True), "qwxzvbnmasdf")
    assert answer == {"query": "qwxzvbnmasdf", "results": [], "note": "no results"}


@pytest.mark.asyncio
async def test_searxng_failing_is_a_clear_error(session: aiohttp.ClientSession, fixture_server: FixtureServer) -> None:
    fixture_server.reply(SEARXNG, status=502)
    with pytest.raises(ToolError) as caught:
        await search(make_context(session, fixture_server, searxng=True), "python")
    assert caught.value.message == "web search is unavailable right now; try again later"
    assert caught.value.details["failures"] == ["SearXNG is having problems (HTTP 502); try again later"]


@pytest.mark.parametrize(
    ("title", "path"),
    [
        ("Monty Python's Flying Circus", "Monty_Python%27s_Flying_Circus"),
        ("Python (programming language)", "Python_(programming_language)"),
        ("AC/DC", "AC/DC"),
        ("C++", "C%2B%2B"),
        ("北京", "%E5%8C%97%E4%BA%AC"),
    ],
)
def test_wikipedia_urls_are_escaped_like_mediawiki(title: str, path: str) -> None:
    assert wikipedia_page_url("https://en.wikipedia.org", title) == f"https://en.wikipedia.org/wiki/{path}"


def test_plain_text_drops_tags_and_decodes_entities() -> None:
    html = '<span class="searchmatch">Fish</span> &amp; chips &quot;to go&quot;\n  &#039;now&#039;'
    assert plain_text(html) == "Fish & chips \"to go\" 'now'"


def test_tool_schema_asks_only_for_the_query() -> None:
    assert search_web.parameters["required"] == ["query"]
    assert search_web.parameters["additionalProperties"] is False


@pytest.mark.asyncio
async def test_related_topic_titles_are_read_with_an_html_parser_and_a_hostile_answer_is_read_only_so_far(
    session: aiohttp.ClientSession, fixture_server: FixtureServer
) -> None:
    bracket = '<a href="https://duckduckgo.com/Ada" title="a > b">Ada Lovelace</a>English mathematician.'
    hostile = "<a " * 200_000 + '<a href="/x">never reached</a>'
    topics = [
        {"FirstURL": "https://duckduckgo.com/Ada", "Result": bracket, "Text": "Ada Lovelace English mathematician."},
        {"FirstURL": "https://duckduckgo.com/Grace_Hopper", "Result": hostile, "Text": "Grace Hopper - admiral."},
    ]
    fixture_server.reply(DUCKDUCKGO, raw=json.dumps({"RelatedTopics": topics}).encode())
    fixture_server.reply(WIKIPEDIA, raw=b'{"query": {"search": []}}')
    hits = results(await search(make_context(session, fixture_server), "programmers"))
    assert [(hit["title"], hit["snippet"]) for hit in hits] == [
        ("Ada Lovelace", "English mathematician."),
        ("Grace Hopper", "admiral."),
    ]


class FragmentSpy:
    """Counts the fragments search_web reads and the characters it parses in them (work done, not time)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fragments = 0
        self.chars = 0
        monkeypatch.setattr(tools._html, "read_fragment", self)
        monkeypatch.setattr(tools.web_search, "read_fragment", self)

    def __call__(self, markup: str, *, limit: int = MAX_FRAGMENT_CHARS) -> Fragment:
        self.fragments += 1
        self.chars += min(len(markup), limit)
        return read_fragment(markup, limit=limit)


@pytest.mark.asyncio
async def test_a_two_megabyte_answer_of_unusable_topics_is_read_only_as_far_as_the_answer_budget(
    session: aiohttp.ClientSession, fixture_server: FixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    tags = "<b>" * 1330
    topics = [{"FirstURL": f"https://duckduckgo.com/T{n}", "Result": tags, "Text": tags} for n in range(248)]
    topics.append({"FirstURL": "https://duckduckgo.com/Late", "Result": "", "Text": "Late - never reached."})
    body = json.dumps({"RelatedTopics": topics}).encode()
    assert len(body) > 1_970_000
    fixture_server.reply(DUCKDUCKGO, raw=body)
    fixture_server.reply(WIKIPEDIA, raw=b'{"query": {"search": []}}')
    spy = FragmentSpy(monkeypatch)

    answer = await search(make_context(session, fixture_server), "anything")

    assert spy.chars <= MAX_ANSWER_CHARS  # of the ~1,980,000 characters of markup
    assert spy.fragments <= MAX_ANSWER_FRAGMENTS  # of 496
    assert answer == {"query": "anything", "results": [], "note": "no results"}  # the late topic is left unread


@pytest.mark.asyncio
@pytest.mark.parametrize("searxng", [False, True], ids=["wikipedia and duckduckgo", "searxng"])
async def test_reading_stops_once_enough_results_are_found(
    session: aiohttp.ClientSession, fixture_server: FixtureServer, monkeypatch: pytest.MonkeyPatch, searxng: bool
) -> None:
    snippet = "<span>match</span> " * 20
    topics = [
        {"FirstURL": f"https://duckduckgo.com/T{n}", "Result": f'<a href="/T{n}">T{n}</a> x', "Text": f"T{n} x"}
        for n in range(1_000)
    ]
    hits = [{"title": f"Page {n}", "snippet": snippet} for n in range(1_000)]
    searx = [{"url": f"https://example.org/{n}", "title": f"Page {n}", "content": snippet} for n in range(1_000)]
    fixture_server.reply(DUCKDUCKGO, raw=json.dumps({"RelatedTopics": topics}).encode())
    fixture_server.reply(WIKIPEDIA, raw=json.dumps({"query": {"search": hits}}).encode())
    fixture_server.reply(SEARXNG, raw=json.dumps({"results": searx}).encode())
    spy = FragmentSpy(monkeypatch)

    found = results(await search(make_context(session, fixture_server, searxng=searxng), "pages"))

    assert [hit["title"] for hit in found] == [f"Page {n}" for n in range(5)]
    assert spy.fragments <= 10  # five results of at most two fragments each; DuckDuckGo's topics are not reached
