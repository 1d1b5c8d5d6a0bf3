"""What a mention means (design section 4): every cue of every kind, read from the data, governs a
term in its clause; none governs a term in another clause, far away in a long one, or across a
comma where it follows; the strongest kind wins; the cost is a constant per mention."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cards import mentions as M
from cards.fhir_read import note_text
from cards.terms import MAX_TEXT_CHARS

TERM = re.compile(r"\b(?:kratom|(?:opioid\s+)?withdrawal)\b", re.IGNORECASE)
KRATOM = re.compile(r"\bkratom\b", re.IGNORECASE)

ALL_CUES = [(kind, cue) for kind, cues in M.CUES.items() for cue in cues]

# One sentence per cue, as a clinician writes it, where the cue governs the term.
GOVERNS = {
    # negated
    "denies": "Patient denies kratom use.",
    "denied": "Kratom use denied.",
    "no": "No signs of opioid withdrawal.",
    "not": "Does not use kratom.",
    "never": "Never tried kratom.",
    "negative": "Kratom: negative.",
    "without": "Tapered off oxycodone without withdrawal.",
    "absent": "Opioid withdrawal absent.",
    "ruled out": "Opioid withdrawal ruled out.",
    "none": "Kratom use: none.",
    "free of": "Free of withdrawal symptoms since Monday.",
    "-free": "Kratom-free for a year.",
    # past
    "used": "He used kratom for back pain.",
    "quit": "Quit kratom last spring.",
    "stopped": "Stopped kratom in March.",
    "former": "Former kratom user.",
    "formerly": "Formerly took kratom daily.",
    "history of": "History of kratom use.",
    "hx of": "Hx of kratom use.",
    "previously": "Previously bought kratom online.",
    "in the past": "Took kratom in the past.",
    "ago": "Took kratom two years ago.",
    "in remission": "Kratom use disorder, in sustained remission.",
    # someone else
    "mother": "Mother uses kratom.",
    "father": "Father drinks kratom tea.",
    "parent": "A parent buys kratom at the gas station.",
    "brother": "Her brother sells kratom.",
    "sister": "Sister takes kratom for pain.",
    "sibling": "One sibling uses kratom.",
    "son": "Son was found with kratom.",
    "daughter": "Daughter is in opioid withdrawal.",
    "child": "Her child ingested kratom.",
    "partner": "Partner uses kratom daily.",
    "spouse": "Spouse takes kratom.",
    "husband": "Husband uses kratom.",
    "wife": "Wife uses kratom.",
    "friend": "A friend gave him kratom.",
    "roommate": "Roommate uses kratom.",
    "family": "Family members use kratom.",
    "family history": "Family history: kratom use disorder.",
    # question, plan or request
    "asked about": "Asked about kratom for pain.",
    "asks about": "Asks about kratom.",
    "asked whether": "Asked whether kratom is safe.",
    "asks whether": "Asks whether kratom helps withdrawal.",
    "interested in": "Interested in kratom.",
    "considering": "Considering kratom to taper off pain pills.",
    "wants to try": "Wants to try kratom.",
    "?": "Opioid withdrawal?",
    # uncertain
    "rule out": "Rule out opioid withdrawal.",
    "r/o": "r/o opioid withdrawal",
    "possible": "Possible opioid withdrawal.",
    "possibly": "Yawning, possibly withdrawal.",
    "suspected": "Opioid withdrawal suspected.",
    "query": "Query opioid withdrawal.",
    "concern for": "Concern for opioid withdrawal.",
}

# How a following cue is written right after a term, where that is not "<term> <cue>".
FOLLOWING_SPELLING = {"not": "kratom not present", "-free": "kratom-free", "?": "kratom?"}


def meanings(text: str, pattern: re.Pattern = TERM) -> list[str]:
    return [m.meaning for m in M.mentions(pattern, text)]


def test_every_kind_has_a_place_in_the_precedence():
    assert sorted(M.PRECEDENCE) == sorted(M.CUES)
    assert M.FOLLOWING | M.ONLY_FOLLOWING | M.WHOLE_CLAUSE <= {cue for _, cue in ALL_CUES}


@pytest.mark.parametrize(("kind", "cue"), ALL_CUES)
def test_each_cue_governs_a_term_in_a_sentence_of_its_own(kind, cue):
    """A new cue in the data has no sentence here, and this fails until it has one."""
    found = meanings(GOVERNS[cue])
    assert found and set(found) == {kind}, (GOVERNS[cue], found)


@pytest.mark.parametrize(("kind", "cue"), [(k, c) for k, c in ALL_CUES if c not in M.ONLY_FOLLOWING | M.WHOLE_CLAUSE])
def test_each_cue_before_the_term_governs_it(kind, cue):
    assert meanings(f"{cue} kratom") == [kind]


@pytest.mark.parametrize(("kind", "cue"), [(k, c) for k, c in ALL_CUES if c in M.FOLLOWING | M.WHOLE_CLAUSE])
def test_each_following_cue_after_the_term_governs_it(kind, cue):
    assert meanings(FOLLOWING_SPELLING.get(cue, f"kratom {cue}")) == [kind]


@pytest.mark.parametrize(("kind", "cue"), [(k, c) for k, c in ALL_CUES
                                           if c not in M.FOLLOWING | M.WHOLE_CLAUSE | {"used", "former"}])
def test_a_cue_that_only_precedes_does_not_govern_what_comes_before_it(kind, cue):
    assert meanings(f"Uses kratom {cue}") == ["affirmed"]


@pytest.mark.parametrize("cue", [c for _, c in ALL_CUES if c not in M.ONLY_FOLLOWING | M.WHOLE_CLAUSE])
@pytest.mark.parametrize("end", [". ", "; ", "\n", " | ", " but "])
def test_a_cue_in_another_clause_governs_nothing(cue, end):
    assert meanings(f"{cue} heroin{end}uses kratom daily", KRATOM) == ["affirmed"]


@pytest.mark.parametrize("cue", [c for _, c in ALL_CUES if c in M.FOLLOWING | M.WHOLE_CLAUSE])
@pytest.mark.parametrize("end", [". ", "; ", "\n"])
def test_a_following_cue_in_another_clause_governs_nothing(cue, end):
    after = FOLLOWING_SPELLING.get(cue, f"kratom {cue}").replace("kratom", "heroin")
    assert meanings(f"Uses kratom daily{end}{after}", KRATOM) == ["affirmed"]


@pytest.mark.parametrize("cue", [c for _, c in ALL_CUES if c in M.FOLLOWING - M.CROSSES_COMMA])
def test_a_following_cue_past_a_comma_governs_another_term(cue):
    after = FOLLOWING_SPELLING.get(cue, f"kratom {cue}").replace("kratom", "heroin")
    assert meanings(f"Uses kratom daily, {after}", KRATOM) == ["affirmed"]


@pytest.mark.parametrize("cue", [c for _, c in ALL_CUES if c not in M.ONLY_FOLLOWING | M.WHOLE_CLAUSE])
def test_a_cue_far_before_the_term_in_a_long_clause_governs_another_term(cue):
    assert meanings(f"{cue} heroin or alcohol at the visit today, reports kratom use", KRATOM) == ["affirmed"]


@pytest.mark.parametrize(("text", "expected"), [
    # the examples of the brief and of design section 9
    ("Mother uses kratom", ["someone_else"]),
    ("used kratom 5 years ago", ["past"]),
    ("asked about kratom", ["question"]),
    ("kratom-free", ["negated"]),
    ("r/o opioid withdrawal", ["uncertain"]),
    ("Patient uses kratom daily", ["affirmed"]),
    ("denies heroin; uses kratom daily", ["affirmed"]),
    # "used" is past, "uses" is current
    ("Uses kratom", ["affirmed"]),
    ("Kratom used daily", ["affirmed"]),
    # a cue never fires inside another word
    ("Knows about kratom", ["affirmed"]),
    ("Notes daily kratom use", ["affirmed"]),
    ("Cannot stop kratom", ["affirmed"]),
    ("Reno resident, uses kratom", ["affirmed"]),
    ("Mr. Johnson uses kratom", ["affirmed"]),
    ("Apparently uses kratom", ["affirmed"]),
    ("Since childhood takes kratom", ["affirmed"]),
    ("Social history: uses kratom", ["affirmed"]),
    ("Takes 7.5 g kratom", ["affirmed"]),
    # relatives in their plural and possessive forms
    ("Mother's kratom", ["someone_else"]),
    ("His children use kratom", ["someone_else"]),
    ("Parents use kratom", ["someone_else"]),
    # "negative" before or after; "positive" is no cue, and a comma ends a following cue's reach
    ("Negative for kratom", ["negated"]),
    ("Kratom screen negative", ["negated"]),
    ("Positive for kratom, negative for opioids", ["affirmed"]),
    ("Uses kratom, denies heroin", ["affirmed"]),
    ("Kratom, not heroin", ["affirmed"]),
    # "?" anywhere in the clause, and "?" as a prefix ("?withdrawal")
    ("Kratom use at home?", ["question"]),
    ("?opioid withdrawal", ["question"]),
    ("Kratom? Uses it daily.", ["question"]),
    # two mentions, each in its own sentence
    ("Uses kratom daily. Mother uses kratom too.", ["affirmed", "someone_else"]),
])
def test_what_a_sentence_means(text, expected):
    assert meanings(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Mother denies kratom", "someone_else"),                # someone else's, whatever is said of it
    ("Brother asked about kratom", "someone_else"),
    ("Never used kratom", "negated"),                        # negated over past
    ("Denies possible opioid withdrawal", "negated"),        # negated over uncertain
    ("Kratom in the past?", "question"),                     # a question states nothing
    ("Possible kratom use in the past", "past"),             # past over uncertain
])
def test_the_strongest_cue_wins(text, expected):
    assert meanings(text)[0] == expected
    assert len(M.governing(text, *TERM.search(text).span())) >= 2


def test_affirmed_is_any_mention_affirmed():
    assert M.affirmed(KRATOM, "denies heroin; uses kratom daily")
    assert M.affirmed(KRATOM, "Mother uses kratom. Patient uses kratom too.")
    assert not M.affirmed(KRATOM, "Mother uses kratom. Denies kratom.")
    assert not M.affirmed(KRATOM, "")
    assert not M.affirmed(KRATOM, "Uses heroin")


def test_uncertain_is_an_uncertain_mention_and_no_affirmed_one():
    assert M.uncertain(TERM, "r/o opioid withdrawal")
    assert not M.affirmed(TERM, "r/o opioid withdrawal")
    assert M.uncertain(TERM, "Possible withdrawal. Denies withdrawal today.")
    assert not M.uncertain(TERM, "Possible withdrawal. Opioid withdrawal on exam, COWS 9.")
    assert M.affirmed(TERM, "Possible withdrawal. Opioid withdrawal on exam, COWS 9.")
    assert not M.uncertain(TERM, "Opioid withdrawal ruled out")
    assert not M.uncertain(TERM, "")


def test_a_mention_quotes_its_words():
    [mention] = M.mentions(KRATOM, "Mother uses kratom")
    assert (mention.start, mention.end, mention.term, mention.quote) == (12, 18, "kratom", "Mother uses kratom")


@pytest.mark.parametrize(("text", "expected"), [
    ("Mother uses kratom", "Mother uses kratom"),
    ("Social history reviewed with the patient today: his mother uses kratom daily at home with "
     "her friends and he has seen it", "…his mother uses kratom daily at home with…"),
    ("Kratom " + "tea " * 30, "Kratom tea tea tea tea tea tea tea tea tea tea…"),
    ("tea " * 30 + "kratom", "…tea tea tea tea tea tea tea tea tea tea kratom"),
    ("Unbrokenwordsthatgoonandonandonandon kratom unbrokenwordsthatgoonandonandonandon", "…kratom…"),
])
def test_a_quote_is_about_forty_characters_around_the_term_cut_at_words(text, expected):
    start, end = KRATOM.search(text).span()
    assert M.quote(text, start, end, width=40) == expected


@given(st.text(alphabet="ab ,.;\n-", max_size=120), st.text(alphabet="ab ,.;\n-", max_size=120))
@settings(max_examples=200, deadline=None)
def test_a_quote_holds_the_term_and_no_part_of_a_word(before, after):
    text = f"{before} kratom {after}"
    start, end = text.index(" kratom ") + 1, text.index(" kratom ") + 7
    q = M.quote(text, start, end)
    words = q.strip("…")
    assert "kratom" in words
    assert len(words) <= 40 + len("kratom")
    assert words in text
    found = text.index(words, max(0, start - 40))
    assert found == 0 or text[found - 1].isspace() or not words[0].strip()
    assert found + len(words) == len(text) or text[found + len(words)].isspace()
    assert q.startswith("…") == bool(text[:found].strip())
    assert q.endswith("…") == bool(text[found + len(words):].strip())


# --- cost -------------------------------------------------------------------------------------------

class CountingText(str):
    """A text that counts the characters read out of it by slicing or indexing."""

    read = 0

    def __getitem__(self, key):
        part = str.__getitem__(self, key)
        CountingText.read += len(part)
        return part


def _read_per_mention(mentions: int) -> float:
    text = CountingText("Patient denies kratom; mother uses kratom. " * (mentions // 2))
    CountingText.read = 0
    found = M.mentions(KRATOM, text)
    assert len(found) == mentions
    return CountingText.read / mentions


def test_a_mention_reads_a_constant_around_it_however_long_the_text():
    """Before (cards.terms.negated), a mention re-read the whole text: the work per mention grew
    with the text. Now it is the same at 1,000 and 8,000 mentions, and at most both reaches."""
    short, long = _read_per_mention(1000), _read_per_mention(8000)
    assert long <= short * 1.01
    assert long <= 2 * M.REACH + 2 * 40


def test_text_past_the_bound_is_never_read():
    """Mentions are looked for in text as a record reads it: cut at the record's bound."""
    text = "Patient denies kratom. " * (MAX_TEXT_CHARS // 23 + 1) + "Uses kratom daily."
    read = note_text({"note": [{"text": text}]}, MAX_TEXT_CHARS)
    assert len(text) > MAX_TEXT_CHARS == len(read)
    assert not M.affirmed(KRATOM, read) and M.affirmed(KRATOM, text)
    assert all(m.end <= MAX_TEXT_CHARS for m in M.mentions(KRATOM, read))


# --- properties --------------------------------------------------------------------------------------

WORDS = st.sampled_from([cue for _, cue in ALL_CUES] + ["kratom", "withdrawal", "heroin", ",", ":", "?", "-", "\n"])
PROSE = st.lists(WORDS, max_size=30).map(" ".join)


@given(PROSE, PROSE)
@settings(max_examples=300, deadline=None)
def test_other_sentences_never_change_what_a_mention_means(before, after):
    text = f"{before}. Patient uses kratom daily. {after}"
    start = len(before) + len(". Patient uses ")
    assert text[start:start + 6] == "kratom"
    assert M.meaning(text, start, start + 6) == "affirmed"


@given(PROSE)
@settings(max_examples=300, deadline=None)
def test_every_mention_has_one_meaning_and_never_both_affirmed_and_uncertain(text):
    assert all(m.meaning in M.MEANINGS for m in M.mentions(TERM, text))
    assert not (M.affirmed(TERM, text) and M.uncertain(TERM, text))
