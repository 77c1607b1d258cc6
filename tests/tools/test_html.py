"""Reading search snippets: text and the first link's title, on bounded input, whatever the upstream sends."""

from __future__ import annotations

from tools._html import MAX_FRAGMENT_CHARS, AnswerReader, read_fragment
from tools.web_search import plain_text


def test_the_first_links_text_is_its_title_even_when_an_attribute_holds_a_bracket() -> None:
    fragment = read_fragment('<a href="https://x/G" title="a > b">Guido &amp; van Rossum</a> - Dutch programmer')
    assert fragment.first_link == "Guido & van Rossum"
    assert fragment.text == "Guido & van Rossum - Dutch programmer"


def test_only_the_first_link_counts_and_tags_are_matched_without_regard_to_case() -> None:
    fragment = read_fragment('<A HREF="/one">One</A> and <a href="/two">Two</a>')
    assert fragment.first_link == "One"
    assert fragment.text == "One and Two"


def test_a_lone_angle_bracket_is_text_and_a_tag_left_open_ends_the_text() -> None:
    assert plain_text("3 < 4 and 5 > 4") == "3 < 4 and 5 > 4"
    assert plain_text("kept <b>bold</b> <span class='unclosed") == "kept bold"


def test_a_link_never_closed_gives_its_text_up_to_the_end() -> None:
    assert read_fragment('<a href="/x">Dangling title').first_link == "Dangling title"


def test_input_past_the_bound_is_not_read() -> None:
    hostile = "<a " * 700_000  # a 2 MB run of tags that never close
    late_link = "x" * MAX_FRAGMENT_CHARS + '<a href="/late">Late</a>'
    assert read_fragment(hostile) == read_fragment("")
    assert read_fragment(late_link).first_link == ""
    assert read_fragment(late_link).text == "x" * MAX_FRAGMENT_CHARS


def test_eight_thousand_anchors_give_the_first_title_and_every_anchors_text_within_the_bound() -> None:
    page = "".join(f'<a href="/{n}">t{n}</a>' for n in range(8_000))
    fragment = read_fragment(page)
    assert fragment.first_link == "t0"
    assert fragment.text.startswith("t0t1t2")
    assert len(fragment.text) < MAX_FRAGMENT_CHARS


def test_an_answer_reader_stops_at_its_character_budget_and_cuts_the_last_fragment_to_what_is_left() -> None:
    reader = AnswerReader(chars=10_000, fragments=100)
    fragments = [reader.read("x" * MAX_FRAGMENT_CHARS + " tail") for _ in range(5)]
    assert [len(fragment.text) for fragment in fragments] == [MAX_FRAGMENT_CHARS, MAX_FRAGMENT_CHARS, 2_000, 0, 0]
    assert reader.exhausted
    assert (reader.chars_read, reader.fragments_read) == (10_000, 3)


def test_an_answer_reader_stops_at_its_fragment_budget_even_for_empty_fragments() -> None:
    reader = AnswerReader(chars=10_000, fragments=3)
    assert [reader.read(markup).text for markup in ["a", "", "<b>c</b>", "d"]] == ["a", "", "c", ""]
    assert reader.exhausted and reader.fragments_read == 3
