"""Benchmark reading search snippets: the old regular expression against the bounded linear reader (tools/_html.py).

Run on demand (not part of the test suite):

    python benchmarks/bench_link_extraction.py

Cases: a DuckDuckGo `Result` of 8,000 anchors, hostile 2 MB fragments (tags that never close), and a whole hostile
2 MB DuckDuckGo answer of many fragments (248 related topics, each `<b>` * 1330 in both `Result` and `Text`): every
topic read (before) against the answer's budget (tools/_html.py AnswerReader). The old regex is skipped on the
hostile page by default (it does not finish in reasonable time); pass --old-hostile to try it.
Target: every case under 10 ms, whatever the input (the JSON parse of a 2 MB answer is shown apart).
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools._html import AnswerReader, read_fragment
from tools.web_search import WebSearchConfig, _DuckAnswer, _flatten, _related_results

_OLD_ANCHOR = re.compile(r"<a\b[^>]*>(.*?)</a>", re.IGNORECASE | re.DOTALL)


def old_first_link(fragment: str) -> str:
    """What tools/web_search.py did before: the regex on the whole input."""
    match = _OLD_ANCHOR.search(fragment)
    return match.group(1) if match else ""


def html_parser_text(fragment: str) -> str:
    """html.parser on the whole input (what plain_text did before)."""

    parts: list[str] = []

    class Text(HTMLParser):
        def handle_data(self, data: str) -> None:
            parts.append(data)

    parser = Text()
    parser.feed(fragment)
    parser.close()
    return "".join(parts)


def timed(label: str, run: Callable[[], object]) -> None:
    started = time.perf_counter()
    run()
    print(f"  {label:<44} {(time.perf_counter() - started) * 1000:10.1f} ms")


def main() -> None:
    anchors = "".join(f'<a href="https://duckduckgo.com/{n}">Topic {n}' for n in range(8_000))  # never closed
    closed = "".join(f'<a href="https://duckduckgo.com/{n}">Topic {n}</a>' for n in range(8_000))
    hostile_open = "<a " * 699_000  # 2 MB
    hostile_quote = '<a title="' + "x" * 2_000_000
    print(f"8,000 anchors, unclosed ({len(anchors):,} chars):")
    timed("old regex", lambda: old_first_link(anchors))
    timed("read_fragment (bounded, linear)", lambda: read_fragment(anchors))
    print(f"8,000 anchors, closed ({len(closed):,} chars):")
    timed("old regex", lambda: old_first_link(closed))
    timed("read_fragment (bounded, linear)", lambda: read_fragment(closed))
    print(f"hostile: '<a ' repeated ({len(hostile_open):,} chars):")
    if "--old-hostile" in sys.argv:
        timed("old regex", lambda: old_first_link(hostile_open))
    else:
        timed("old regex on its first 20,000 chars only", lambda: old_first_link(hostile_open[:20_000]))
        timed("html.parser on its first 9,000 chars only", lambda: html_parser_text(hostile_open[:9_000]))
    timed("read_fragment (bounded, linear)", lambda: read_fragment(hostile_open))
    print(f"hostile: an attribute quote never closed ({len(hostile_quote):,} chars):")
    timed("read_fragment (bounded, linear)", lambda: read_fragment(hostile_quote))
    tags = "<b>" * 1330
    topics = [{"FirstURL": f"https://duckduckgo.com/T{n}", "Result": tags, "Text": tags} for n in range(248)]
    body = json.dumps({"RelatedTopics": topics})
    answer = _DuckAnswer.model_validate_json(body)
    reader = AnswerReader()
    print(f"hostile: a whole DuckDuckGo answer, 248 topics of '<b>' * 1330 ({len(body):,} chars):")
    timed("JSON parse (pydantic, apart)", lambda: _DuckAnswer.model_validate_json(body))
    timed("every topic read, 2 fragments each (before)", lambda: every_topic_read(answer))
    timed(
        "within the answer's budget (AnswerReader)",
        lambda: list(_related_results(answer.related_topics, reader, WebSearchConfig())),
    )
    print(f"  {'':<44} {reader.fragments_read} fragments, {reader.chars_read:,} chars read")


def every_topic_read(answer: _DuckAnswer) -> None:
    """What _duckduckgo did before: both fragments of every related topic, however many."""
    for topic in _flatten(answer.related_topics):
        read_fragment(topic.result)
        read_fragment(topic.text)


if __name__ == "__main__":
    main()
