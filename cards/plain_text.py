"""Record text in a card is inert (design 4.2, issue 20): a display, a code's text, a value or a note
shown in a card's markdown reads as the record's words and does nothing else.

`plain` makes one line of at most `limit` characters, with the characters that hide or reorder text
removed, and escapes it for GitHub Flavored Markdown:
- every ASCII punctuation character gets a backslash (CommonMark 2.4: any of them may be escaped,
  and an escaped one is shown as itself), so no emphasis, link, image, heading, list item, table,
  code, raw HTML or entity can start in it;
- autolinks are broken with U+2060 WORD JOINER, which has no width and no glyph: before every "@",
  before every "://", and between "www" and its ".". Backslashes alone do not stop them: cmark-gfm
  (GitHub's renderer) links "a\\@evil\\.example" and "www.evil\\.com", and remark-gfm, which the CDS
  Hooks Sandbox renders card detail with (react-markdown 10, remark-gfm 4, rehype-raw), finds
  autolinks in text after escapes are resolved (remarkjs/remark-gfm#33). A word joiner is not a
  character any of them takes into a link.
"""

from __future__ import annotations

import re
import unicodedata

# Control (Cc), format (Cf: bidirectional marks, embeddings, overrides and isolates, zero-width
# spaces and joiners, the Arabic letter mark, soft hyphens, tag characters) and surrogate (Cs)
# characters: none is a word, and they can hide or reorder the words a clinician reads. Whitespace
# controls (tab, line feed, carriage return, NEL, ...) become spaces instead.
REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
ESCAPED = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
WORD_JOINER = "\u2060"
ELLIPSIS = "\u2026"
# The most of a text read: far more than `limit` words need, even through runs of spaces and
# removed characters; a text stuffed with megabytes of them buys no CPU.
READ_CHARS = 16 * 1024

# Where a word joiner goes: before "@", before "://", and between "www" and its ".".
_AUTOLINK_BREAK = re.compile(r"(?=@|://)|(?<=www)(?=\.)", re.IGNORECASE)


def one_line(text: str) -> str:
    """The words of `text` on one line: whitespace runs to one space, removed characters gone."""
    text = text[:READ_CHARS]
    # Most record text is printable: str.isprintable() is false for every Cc, Cf and Cs character
    # (and for whitespace other than the space), so only the rest is read character by character.
    if not text.isprintable():
        text = "".join(c for c in text if c.isspace() or unicodedata.category(c) not in REMOVED_CATEGORIES)
    return " ".join(text.split())


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary (inside a word only when one word is
    longer than the limit) with an ellipsis."""
    if len(text) <= limit:
        return text
    head = text[:limit - 1]
    if not text[limit - 1].isspace() and " " in head:
        head = head[:head.rindex(" ")]
    return head.rstrip() + ELLIPSIS


_ESCAPE = re.compile("[" + re.escape("".join(sorted(ESCAPED))) + "]")


def escape(text: str) -> str:
    """`text` as GitHub Flavored Markdown that renders as exactly its characters, with no link: a
    word joiner where an autolink would start, then a backslash before every punctuation character."""
    return _ESCAPE.sub(lambda m: "\\" + m.group(0), _AUTOLINK_BREAK.sub(WORD_JOINER, text))


def plain(text: str | None, limit: int = 80) -> str:
    """Record text as inert card markdown: one line of at most `limit` characters as the reader
    sees them (the escapes it adds are not counted), every markdown or HTML character escaped, no
    autolink. Empty for no text."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if not isinstance(text, str):
        return ""
    return escape(shorten(one_line(text), limit))
