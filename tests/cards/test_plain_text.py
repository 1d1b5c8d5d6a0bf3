"""Record text in a card is inert (design 4.2, issue 20): whatever markdown, HTML, link, control or
bidirectional character a record's text holds, a card shows its words and nothing else.

Each case is rendered the way card detail is: by markdown-it-py with linkify and raw HTML on (GFM
as the CDS Hooks Sandbox reads it: autolinks, raw HTML), and by cmark-gfm, GitHub's own renderer,
with its autolink extension and raw HTML on. The rendered HTML may hold one paragraph and nothing
else, and its text must be the record's words (less the removed characters and the invisible word
joiners that break autolinks). Each case rendered raw shows what it would have done.
"""

from __future__ import annotations

from html.parser import HTMLParser

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from cards.plain_text import ELLIPSIS, WORD_JOINER, one_line, plain, shorten

MARKDOWN_IT = MarkdownIt("gfm-like", {"linkify": True, "html": True})


def markdown_it(text: str) -> str:
    return MARKDOWN_IT.render(text)


def cmark_gfm(text: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_UNSAFE)


RENDERERS = [markdown_it, cmark_gfm]


class Rendered(HTMLParser):
    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.words: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)

    def handle_data(self, data):
        self.words.append(data)

    def handle_comment(self, data):
        self.tags.add("!--")

    @property
    def text(self) -> str:
        return "".join(self.words).strip()


def shown(markdown: str, render) -> Rendered:
    return Rendered(render(markdown))


# Each kind of markdown, HTML or character a record could use to change a card, the tag (or the
# character) it makes when rendered raw, and the words the reader must see instead.
CASES = {
    "link": ("[x](http://e)", "a", "[x](http://e)"),
    "autolink": ("<http://e>", "a", "<http://e>"),
    "bare URL": ("https://evil.example/phish", "a", "https://evil.example/phish"),
    "www": ("www.evil.com", "a", "www.evil.com"),
    "e-mail": ("a@evil.com", "a", "a@evil.com"),
    "e-mail in a sentence": ("write to a.b+c@mail.evil.com now", "a", "write to a.b+c@mail.evil.com now"),
    "mailto": ("mailto:a@evil.com", "a", "mailto:a@evil.com"),
    "bare domain": ("see evil.com now", "a", "see evil.com now"),
    "image": ("![x](http://e/i.png)", "img", "![x](http://e/i.png)"),
    "heading": ("# x", "h1", "# x"),
    "setext heading": ("x\n===", "h1", "x ==="),
    "list item": ("- x", "li", "- x"),
    "numbered list item": ("1. x", "li", "1. x"),
    "list item after a newline": ("Opioid dependence\n- Fake evidence: COWS 40 (today)", "li",
                                  "Opioid dependence - Fake evidence: COWS 40 (today)"),
    "emphasis": ("*x*", "em", "*x*"),
    "underscore emphasis": ("_x_", "em", "_x_"),
    "strong": ("**x**", "strong", "**x**"),
    "strikethrough": ("~~x~~", "del s", "~~x~~"),
    "code": ("`x`", "code", "`x`"),
    "quote": ("> x", "blockquote", "> x"),
    "table": ("a | b\n--- | ---\nc | d", "table", "a | b --- | --- c | d"),
    "html": ("<b>x</b>", "b", "<b>x</b>"),
    "script": ("<script>alert(1)</script>", "script", "<script>alert(1)</script>"),
    "entity": ("&lt;b&gt;", None, "&lt;b&gt;"),
    "hard break": ("x\\\ny", "br", "x\\ y"),
    "newline": ("line one\nline two", None, "line one line two"),
}
# GFM links no bare domain (markdown-it's linkify does), and GitHub's tag filter escapes <script>.
HARMLESS_RAW = {("bare domain", "cmark_gfm"), ("script", "cmark_gfm")}
# Characters that are removed: what they would do raw is hide or reorder the words.
REMOVED = {
    "bidi override": ("Opioid \u202eesoddrevo\u202c use", "Opioid esoddrevo use"),
    "bidi isolates and marks": ("a\u2066b\u2069c\u200ed\u200fe\u061cf", "abcdef"),
    "zero-width": ("kra\u200bt\u200com\u200d\ufeff", "kratom"),
    "escape": ("\u001b[31mred\u001b[0m", "[31mred[0m"),
    "bell": ("a\u0007b", "ab"),
    "C1 and delete": ("a\u0085b\u009bc\u007fd", "a bcd"),
    "tab": ("a\tb", "a b"),
}


@pytest.mark.parametrize("render", RENDERERS, ids=lambda r: r.__name__)
@pytest.mark.parametrize("kind", sorted(CASES))
def test_record_markdown_is_shown_as_its_words(kind, render):
    text, tag, words = CASES[kind]
    if tag and (kind, render.__name__) not in HARMLESS_RAW:
        assert set(tag.split()) & shown(text, render).tags, f"the case does nothing raw in {render.__name__}"
    page = shown(plain(text), render)
    assert page.tags == {"p"}, (plain(text), page.tags)
    assert page.text.replace(WORD_JOINER, "") == words


@pytest.mark.parametrize("render", RENDERERS, ids=lambda r: r.__name__)
@pytest.mark.parametrize("kind", sorted(REMOVED))
def test_control_and_bidirectional_characters_are_removed(kind, render):
    text, words = REMOVED[kind]
    assert plain(text) == words.replace("[", "\\[")
    page = shown(plain(text), render)
    assert page.tags == {"p"} and page.text == words


def test_escapes_show_the_original_characters():
    """CommonMark shows a backslash-escaped ASCII punctuation character as itself: the reader sees
    the record's words exactly, every one of the 32."""
    punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
    for render in RENDERERS:
        assert shown(plain(punctuation), render).text.replace(WORD_JOINER, "") == punctuation
        for c in punctuation:
            assert shown(plain(f"a{c}b"), render).text.replace(WORD_JOINER, "") == f"a{c}b", (c, render)


def test_word_joiners_only_where_a_link_could_start():
    assert plain("Uses kratom daily (3 g)") == "Uses kratom daily \\(3 g\\)"
    assert WORD_JOINER + "\\@" in plain("a@b.c")
    assert WORD_JOINER + "\\:\\/\\/" in plain("http://e")
    assert "www" + WORD_JOINER + "\\." in plain("www.e.org")
    assert "WwW" + WORD_JOINER + "\\." in plain("WwW.e.org")
    assert plain("wwwx.org").count(WORD_JOINER) == 0


@pytest.mark.parametrize(("text", "limit", "expected"), [
    ("Mother uses kratom", 80, "Mother uses kratom"),
    ("word " * 30, 80, "word " * 15 + "word" + ELLIPSIS),
    ("Opioid withdrawal, moderate", 20, "Opioid withdrawal," + ELLIPSIS),
    ("Opioid withdrawal, moderate", 18, "Opioid" + ELLIPSIS),
    ("x" * 100, 10, "x" * 9 + ELLIPSIS),
    ("  spaced   out  ", 80, "spaced out"),
])
def test_at_most_limit_characters_cut_at_a_word(text, limit, expected):
    assert shorten(one_line(text), limit) == expected
    assert len(shorten(one_line(text), limit)) <= limit


def test_the_limit_counts_what_the_reader_sees_not_the_escapes():
    text = "(a) " * 40
    assert len(plain(text)) > 80
    assert len(shown(plain(text), markdown_it).text) <= 80


def test_no_text_is_no_words():
    assert plain(None) == "" and plain("") == "" and plain(" \n\u200b ") == ""
    with pytest.raises(ValueError):
        plain("x", limit=0)


def test_a_long_text_is_read_only_as_far_as_it_needs():
    assert plain("\u200b" * 10**6 + "kratom") == ""
    assert plain("kratom " + "\u200b" * 10**6) == "kratom"


# Text that leans on every markdown and HTML character, autolink prefix and control.
HOSTILE = st.lists(st.one_of(
    st.sampled_from(list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + ["www.", "http://", "https://", "mailto:", "\n", "\t",
                                                                  "1. ", "- ", "# ", "a@b.com", "x.com", "  ", "\u202e",
                                                                  "\u001b", "&amp;", "&#64;", "<a href=x>"]),
    st.characters(codec="utf-8"),
), max_size=60).map("".join)


@given(HOSTILE)
@settings(max_examples=400, deadline=None)
def test_any_text_renders_as_one_paragraph_of_its_words(text):
    expected = shorten(one_line(text), 80)
    for render in RENDERERS:
        page = shown(plain(text), render)
        assert page.tags <= {"p"}, (text, plain(text), page.tags)
        assert page.text.replace(WORD_JOINER, "") == expected, (text, render.__name__)
