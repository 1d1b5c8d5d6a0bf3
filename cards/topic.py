"""A card topic as one value: its rule, its words, its links, its suggestion, where it applies.

Each module under ``cards/topics/`` builds one ``Topic``. Everything a topic names is checked
when it is built, that is at import: a fact no finder produces, a link or guideline that does
not exist, a ``{placeholder}`` in its text that no setting fills, an age band that is not a
setting. A broken topic stops the service at start, never a clinician's request.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime

from cards import content
from cards.advice import Advice, Link, Note, Reason, Suggestion
from cards.detail import detail, detail_cut, fired_evidence
from cards.evidence import FACT_NAMES, Facts
from cards.inputs import ALL_MOMENTS, Inputs, Moment
from cards.rules import AllOf, Expr, holds, names
from cards.settings import SETTING_NAMES, EngineSettings, SiteLink

INDICATORS = ("info", "warning", "critical")
# COWS bands (Wesson & Ling 2003; clinical-content.md section 3): (lowest score, band).
COWS_BANDS = ((37, "severe"), (25, "moderately severe"), (13, "moderate"), (5, "mild"), (0, "below mild"))
# Filled per card, beside the settings: the latest COWS score and its band.
CARD_VALUES = frozenset({"score", "band", "analyte"})
SuggestionBuilder = Callable[[Inputs, EngineSettings, Facts], Suggestion | None]


def cows_band(score: float) -> str:
    return next(band for lowest, band in COWS_BANDS if score >= lowest)


@dataclass(frozen=True)
class Variant:
    """Other words for the card while ``when`` holds. The first variant that holds is used."""

    when: Expr
    summary: str | None = None
    # A paragraph before the reasoning.
    lead: str | None = None
    # Instead of the topic's reasoning.
    reasoning: str | None = None
    # Added to the topic's links.
    links: tuple[str, ...] = ()
    # Instead of the topic's guideline (a key of content.GUIDELINES).
    source: str | None = None


_PLAIN = Variant(when="")


@dataclass(frozen=True)
class Topic:
    code: str
    title: str
    rule: Expr
    indicator: str
    # The guideline it follows (a key of content.GUIDELINES).
    source: str
    summary: str
    reasoning: str
    # The draft resource the card suggests, or None when it has nothing to suggest here.
    suggest: SuggestionBuilder
    # (fact, indicator): the first whose fact holds replaces ``indicator``.
    # (rule, summary): the first whose rule holds replaces ``summary`` (what the advice rests on);
    # a variant's own summary outranks both.
    summaries: tuple[tuple[Expr, str], ...] = ()
    # (rule, guideline): the first whose rule holds replaces ``source`` (the path the card took).
    sources: tuple[tuple[Expr, str], ...] = ()
    # (rule, words): every one that holds is named, first, on a "Risk:" line above the evidence.
    risks: tuple[tuple[Expr, str], ...] = ()
    escalations: tuple[tuple[str, str], ...] = ()
    variants: tuple[Variant, ...] = ()
    # The facts whose evidence the detail lists; by default, the evidence of the parts of the
    # rule that hold (only what made this card fire).
    shows: tuple[str, ...] | None = None
    links: tuple[str, ...] = ()
    # Settings that hold a page of the site's own (a SiteLink), linked when configured.
    site_links: tuple[str, ...] = ()
    moments: frozenset[Moment] = ALL_MOMENTS
    # The setting that holds this topic's lowest age.
    min_age: str = "min_age_years"
    override_reasons: tuple[Reason, ...] = field(default=content.OVERRIDE_REASONS)
    # An app that does what the card asks (cds_service links it as a SMART app where it serves it).
    app: str | None = None

    def __post_init__(self) -> None:
        problems = [*self._unknown_facts(), *self._unknown_names(), *self._bad_text()]
        if problems:
            raise ValueError(f"topic {self.code}: " + "; ".join(problems))

    # --- what the engine asks ---------------------------------------------------------------

    def applies(self, moment: Moment, facts: Facts, settings: EngineSettings) -> bool:
        return (moment in self.moments and facts.age is not None
                and facts.age >= getattr(settings, self.min_age) and holds(self.rule, facts))

    def advise(self, facts: Facts, inputs: Inputs, settings: EngineSettings, now: datetime) -> Advice:
        indicator = next((ind for fact, ind in self.escalations if facts[fact]), self.indicator)
        variant = next((v for v in self.variants if holds(v.when, facts)), _PLAIN)
        summary = variant.summary or next((text for when, text in self.summaries if holds(when, facts)), self.summary)
        latest = facts.latest_cows
        values = {**settings.text_values, "score": f"{latest.score:g}" if latest else "",
                  "band": cows_band(latest.score) if latest else "", "analyte": "an opioid", **facts.values}

        shown = (fired_evidence(self.rule, facts) if self.shows is None
                 else fired_evidence(AllOf(*self.shows), facts) if self.shows else [])
        # Said once per response (cards.compose): the kratom note.
        notes = tuple(note for fact, note in content.NOTES if any(item.kind == fact for item in shown))
        paragraphs = [text.format_map(values) for text in (variant.lead, variant.reasoning or self.reasoning) if text]
        # Evidence text is the record's own: it is not passed through format().
        named = [words for when, words in self.risks if holds(when, facts)]
        # The two foremost risks; the evidence lines below show the rest.
        first = "Risk: " + "; ".join(named[:2]) + ("; ..." if len(named) > 2 else "") if named else None
        body = detail(shown, paragraphs, now, first)
        notes, noted = _with_notes(body, notes, shown, paragraphs, now, first)
        suggestion = self.suggest(inputs, settings, facts)
        path = next((key for when, key in self.sources if holds(when, facts)), self.source)
        source = content.GUIDELINES[variant.source or path]
        return Advice(
            topic=self.code,
            title=self.title,
            indicator=indicator,
            summary=summary.format_map(values),
            detail=body,
            source=source,
            links=self._links(variant, settings, source),
            suggestions=(suggestion,) if suggestion is not None else (),
            override_reasons=self.override_reasons,
            evidence=tuple(dict.fromkeys(shown)),
            app=self.app,
            notes=notes,
            noted_detail=noted,
        )

    def _links(self, variant: Variant, settings: EngineSettings, source: Link) -> tuple[Link, ...]:
        """The topic's and the variant's links and the site's configured pages; never the source again."""
        links = [content.LINKS[name] for name in (*self.links, *variant.links)]
        links += [Link(page.label, page.url) for name in self.site_links
                  if isinstance(page := getattr(settings, name), SiteLink)]
        unique = {link.url: link for link in links if link.url != source.url}
        return tuple(unique.values())

    # --- checks at import -------------------------------------------------------------------

    def _unknown_facts(self) -> list[str]:
        read = [*names(self.rule), *(self.shows or ()), *(fact for fact, _ in self.escalations)]
        read += [name for variant in self.variants for name in names(variant.when)]
        read += [name for table in (self.summaries, self.sources, self.risks)
                 for when, _ in table for name in names(when)]
        return [f"no finder produces the fact {name!r}" for name in dict.fromkeys(read) if name not in FACT_NAMES]

    def _unknown_names(self) -> list[str]:
        link_names = [*self.links, *(name for v in self.variants for name in v.links)]
        problems = [f"no link {name!r} in content.LINKS" for name in link_names if name not in content.LINKS]
        for source in (self.source, *(v.source for v in self.variants if v.source), *(k for _, k in self.sources)):
            if source not in content.GUIDELINES:
                problems.append(f"no guideline {source!r} in content.GUIDELINES")
        indicators = [self.indicator, *(indicator for _, indicator in self.escalations)]
        problems += [f"indicator {i!r} is not one of {INDICATORS}" for i in indicators if i not in INDICATORS]
        setting_names = {f.name for f in fields(EngineSettings)}
        age_settings = {name for name in setting_names if "min_age" in name}
        if self.min_age not in age_settings:
            problems.append(f"age band {self.min_age!r} is not a setting ({sorted(age_settings)})")
        problems += [f"site link {name!r} is not a setting" for name in self.site_links if name not in setting_names]
        return problems

    def _bad_text(self) -> list[str]:
        texts = [self.summary, self.reasoning, *(text for _, text in self.summaries)]
        texts += [t for v in self.variants for t in (v.summary, v.lead, v.reasoning) if t]
        allowed = SETTING_NAMES | CARD_VALUES
        found = {name for text in texts for _, name, _, _ in string.Formatter().parse(text) if name is not None}
        return [f"text names {{{name}}}, which no setting or card value fills" for name in sorted(found - allowed)]


def _with_notes(body: str, notes: tuple[Note, ...], shown, paragraphs: list[str], now: datetime,
                first: str | None) -> tuple[tuple[Note, ...], str]:
    """The notes this card could carry and its detail with them: all of them, else the first that
    fits alone. The evidence is never cut for a note: one that does not fit is left to a later card.
    Most cards carry none, and then the detail is not rendered again."""
    for kept in (notes, *((note,) for note in notes)) if notes else ():
        candidate = detail(shown, [*paragraphs, *(note.text for note in kept)], now, first)
        if detail_cut(candidate) <= detail_cut(body):
            return kept, candidate
    return (), ""
