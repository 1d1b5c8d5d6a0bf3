"""What a mention means (design section 4): a term named in record text counts only when the text
affirms the patient's own current use or state.

A cue governs a term in the same clause: before it, within CUE_WORDS_BEFORE words, or, for the cues
in FOLLOWING, after it within CUE_WORDS_AFTER words and, except CROSSES_COMMA, before the next comma
("kratom: negative", "withdrawal absent", "kratom use 5 years ago", "overdose ruled out"). A clause ends at a sentence
end, a semicolon, a line break, a "|" (a flattened table or flowsheet) or a contrasting conjunction
("denies heroin but uses kratom"): a cue beyond one governs nothing here. "?" governs its whole
clause. Every list is data; tests/cards/test_mentions.py has a test per cue.

Cost: a mention reads at most REACH characters either side of it, so a text costs its length once
plus a constant per mention, however many mentions it holds. The text is one a record read, so at
most its clinical.max_text_chars long (cards/fhir_read.py cuts every text where it reads it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NEGATED = ("denies", "denied", "no", "not", "never", "negative", "without", "absent", "ruled out",
           "none", "free of", "-free")
PAST = ("used", "quit", "stopped", "former", "formerly", "history of", "hx of", "previously",
        "in the past", "ago", "in remission")
SOMEONE_ELSE = ("mother", "father", "parent", "brother", "sister", "sibling", "son", "daughter",
                "child", "partner", "spouse", "husband", "wife", "friend", "roommate", "family",
                "family history")
QUESTION = ("asked about", "asks about", "asked whether", "asks whether", "interested in",
            "considering", "wants to try", "?")
UNCERTAIN = ("rule out", "r/o", "possible", "possibly", "suspected", "query", "concern for")

CUES: dict[str, tuple[str, ...]] = {
    "negated": NEGATED,
    "past": PAST,
    "someone_else": SOMEONE_ELSE,
    "question": QUESTION,
    "uncertain": UNCERTAIN,
}

# Cues that may also stand after the term they govern. Not "denies", "used", "stopped" or a
# relative: "uses kratom, denies heroin", "kratom used daily", "uses kratom with his brother" are
# the patient's own current use.
FOLLOWING = frozenset({"denied", "not", "negative", "absent", "ruled out", "none", "-free",
                       "ago", "in the past", "in remission", "previously", "formerly",
                       "suspected", "possible", "possibly"})
# A following cue stops at a comma ("uses kratom, negative for opioids"), except these, which
# qualify a diagnosis after one ("Opioid use disorder, in sustained remission").
CROSSES_COMMA = frozenset({"in remission"})
# Cues that only follow: "2 years ago started kratom" is current use, and "-free" is a suffix.
ONLY_FOLLOWING = frozenset({"ago", "-free"})
# Cues written onto the end of the term itself ("kratom-free").
SUFFIXES = frozenset({"-free"})
# A cue that governs its whole clause, wherever it stands in it.
WHOLE_CLAUSE = frozenset({"?"})

# Which meaning wins when cues of several kinds govern one mention. Someone else's use is not the
# patient's, whatever is said of it ("mother denies kratom", "father quit kratom"). A negation
# denies whatever else is said ("never used kratom", "denies possible withdrawal"). A question
# states nothing ("asked about kratom he used before?"). Past beats uncertain ("possible kratom
# use in the past" is not current use). Uncertain comes last because it is the one meaning that
# still counts for something (withdrawal suspected counts for withdrawal-assessment): it must
# never be returned when a stronger reason not to count is present.
PRECEDENCE = ("someone_else", "negated", "question", "past", "uncertain")
MEANINGS = ("affirmed", *PRECEDENCE)

CUE_WORDS_BEFORE = 6
CUE_WORDS_AFTER = 5
# How far either side of a term cues are looked for, in characters: the word windows fit many
# times over. Reading the whole text around every mention made a long text's cost grow with its
# length squared (tests/test_cpu_bounds.py).
REACH = 256

# The spelling of a cue where it is more than its words (forms are case-insensitive).
_FORMS = {
    "in remission": r"in\s+(?:early\s+|sustained\s+|full\s+|partial\s+)?remission",
    "-free": r"[-\u2010\u2011]free\b",
}
# The spelling of a cue where it follows the term, when that differs ("withdrawal not present";
# "not" alone after a term is too often about something else: "kratom, not heroin").
_FOLLOWING_FORMS = {
    "not": r"not\s+(?:present|seen|detected|observed|reported|endorsed)",
}
_RELATIVE_ENDINGS = r"(?:s|ren|'s|\u2019s)?"

_ENDS = r"[;|\n\r\u2028\u2029]|\b(?:but|however|although|though|except)\b"
# A sentence ends at ".", "!" or "?" before a space or the end of the text ("7.5 mg" and "?withdrawal"
# do not end one). Before a term, the end of the slice is the term itself, so it is no end there.
_CLAUSE_END_BEFORE = re.compile(r"[.!?](?=\s)|" + _ENDS, re.IGNORECASE)
_CLAUSE_END = re.compile(r"[.!?](?=\s|$)|" + _ENDS, re.IGNORECASE)
_WORD = re.compile(r"\S+")


def _form(cue: str, kind: str) -> str:
    if cue in _FORMS:
        return _FORMS[cue]
    words = r"\s+".join(re.escape(w) for w in cue.split())
    if not cue[0].isalnum():
        return words
    return r"\b" + words + (_RELATIVE_ENDINGS if kind == "someone_else" else "") + r"(?!\w)"


def _alternatives(cues: list[tuple[str, str]]) -> re.Pattern:
    """One pattern naming each cue's kind in a group of its own: (?P<negated>...)|(?P<past>...)."""
    by_kind: dict[str, list[str]] = {}
    for kind, form in cues:
        by_kind.setdefault(kind, []).append(form)
    return re.compile("|".join(f"(?P<{kind}>{'|'.join(forms)})" for kind, forms in by_kind.items()),
                      re.IGNORECASE)


_BEFORE = _alternatives([(kind, _form(cue, kind)) for kind, cues in CUES.items() for cue in cues
                         if cue not in ONLY_FOLLOWING and cue not in WHOLE_CLAUSE])
_AFTER = _alternatives([(kind, _FOLLOWING_FORMS.get(cue, _form(cue, kind)))
                        for kind, cues in CUES.items() for cue in cues
                        if cue in FOLLOWING and cue not in SUFFIXES | CROSSES_COMMA])
_AFTER_COMMA = _alternatives([(kind, _form(cue, kind)) for kind, cues in CUES.items() for cue in cues
                              if cue in CROSSES_COMMA])
_SUFFIX = _alternatives([(kind, _form(cue, kind)) for kind, cues in CUES.items() for cue in cues
                         if cue in SUFFIXES])
_ANYWHERE = _alternatives([(kind, _form(cue, kind)) for kind, cues in CUES.items() for cue in cues
                           if cue in WHOLE_CLAUSE])


@dataclass(frozen=True)
class Mention:
    """One match of a term: where it is, what it means, and the words around it for a card."""

    start: int
    end: int
    term: str
    meaning: str
    quote: str


def _kinds(pattern: re.Pattern, window: str) -> set[str]:
    return {kind for m in pattern.finditer(window) for kind, found in m.groupdict().items() if found}


def governing(text: str, start: int, end: int) -> set[str]:
    """The kinds of every cue that governs the term at text[start:end] (empty: affirmed)."""
    before = text[max(0, start - REACH):start]
    ends = list(_CLAUSE_END_BEFORE.finditer(before))
    before = before[ends[-1].end():] if ends else before
    words = list(_WORD.finditer(before))
    before_window = before[words[-CUE_WORDS_BEFORE].start():] if len(words) >= CUE_WORDS_BEFORE else before

    after = text[end:end + REACH]
    stop = _CLAUSE_END.search(after)
    clause_after = after[:stop.end()] if stop else after
    words = list(_WORD.finditer(clause_after))
    after_window = clause_after[:words[CUE_WORDS_AFTER - 1].end()] if len(words) >= CUE_WORDS_AFTER else clause_after

    kinds = _kinds(_BEFORE, before_window) | _kinds(_AFTER, after_window.split(",", 1)[0])
    kinds |= _kinds(_AFTER_COMMA, after_window)
    kinds |= _kinds(_ANYWHERE, before + clause_after)
    suffix = _SUFFIX.match(after)
    if suffix:
        kinds |= {kind for kind, found in suffix.groupdict().items() if found}
    return kinds


def meaning(text: str, start: int, end: int) -> str:
    """What the mention at text[start:end] means: "affirmed", or the kind of the strongest cue that
    governs it (PRECEDENCE): "someone_else", "negated", "question", "past" or "uncertain"."""
    kinds = governing(text, start, end)
    return next((kind for kind in PRECEDENCE if kind in kinds), "affirmed")


def quote(text: str, start: int, end: int, width: int = 40) -> str:
    """The term at text[start:end] with about `width` characters around it (half before, half
    after; a side with less text gives the rest to the other), cut at word boundaries, with "…"
    where text was left out. The words are the record's, raw: a card shows them through
    cards.plain_text.plain."""
    left = min(start, width // 2)
    right = min(len(text) - end, width - left)
    left = min(start, width - right)
    a, b = start - left, end + right
    if a > 0 and not text[a - 1].isspace() and not text[a].isspace():
        space = re.search(r"\s", text[a:start])
        a = a + space.end() if space else start
    if b < len(text) and not text[b].isspace() and not text[b - 1].isspace():
        spaces = [m.start() for m in re.finditer(r"\s", text[end:b])]
        b = end + spaces[-1] if spaces else end
    words = text[a:b].strip()
    # Whether text was left out: a long way from either end of the text it surely was, and looking
    # no further keeps a mention's cost independent of the text's length.
    cut_before = a > width or (a > 0 and not text[:a].isspace())
    cut_after = len(text) - b > width or (b < len(text) and not text[b:].isspace())
    return ("…" if cut_before else "") + words + ("…" if cut_after else "")


def mentions(pattern: re.Pattern, text: str) -> list[Mention]:
    """Every match of `pattern` in `text`, with its meaning."""
    return [Mention(m.start(), m.end(), m.group(), meaning(text, m.start(), m.end()), quote(text, m.start(), m.end()))
            for m in pattern.finditer(text)]


def _meanings(pattern: re.Pattern, text: str):
    return (meaning(text, m.start(), m.end()) for m in pattern.finditer(text))


def affirmed(pattern: re.Pattern, text: str) -> bool:
    """Whether some mention of `pattern` in `text` affirms it (the patient's own current use or state)."""
    return any(m == "affirmed" for m in _meanings(pattern, text)) if text else False


def uncertain(pattern: re.Pattern, text: str) -> bool:
    """Whether `text` mentions `pattern` as uncertain ("r/o opioid withdrawal") and never affirms
    it: an affirmed mention makes the state present, not suspected. Never true with `affirmed`."""
    seen = set(_meanings(pattern, text)) if text else set()
    return "uncertain" in seen and "affirmed" not in seen
