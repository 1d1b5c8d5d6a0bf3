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

from cards import content
from cards.advice import Advice, Reason, Suggestion
from cards.detail import evidence_lines, shown_evidence
from cards.evidence import FACT_NAMES, Facts
from cards.inputs import ALL_MOMENTS, Inputs, Moment
from cards.rules import Expr, holds, names
from cards.settings import SETTING_NAMES, EngineSettings

INDICATORS = ("info", "warning", "critical")
# Filled per card, beside the settings: the latest COWS score.
CARD_VALUES = frozenset({"score"})
SuggestionBuilder = Callable[[Inputs, EngineSettings], Suggestion]


@dataclass(frozen=True)
class Variant:
    """Other words for the card while ``when`` holds. The first variant that holds is used."""

    when: Expr
    summary: str | None = None
    # A paragraph before the reasoning.
    lead: str | None = None
    # Instead of the topic's reasoning.
    reasoning: str | None = None


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
    suggest: SuggestionBuilder
    # (fact, indicator): the first whose fact holds replaces ``indicator``.
    escalations: tuple[tuple[str, str], ...] = ()
    variants: tuple[Variant, ...] = ()
    # The facts whose evidence the detail lists, in this order.
    shows: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
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

    def advise(self, facts: Facts, inputs: Inputs, settings: EngineSettings) -> Advice:
        indicator = next((ind for fact, ind in self.escalations if facts[fact]), self.indicator)
        variant = next((v for v in self.variants if holds(v.when, facts)), _PLAIN)
        latest = facts.latest_cows
        values = {**settings.text_values, "score": f"{latest.score:g}" if latest else ""}

        shown = shown_evidence(self.shows, facts)
        # Evidence text is the record's own: it is never passed through format().
        paragraphs = [content.EVIDENCE_HEADING + "\n\n" + "\n".join(evidence_lines(shown))]
        if variant.lead:
            paragraphs.append(variant.lead.format_map(values))
        paragraphs.append((variant.reasoning or self.reasoning).format_map(values))
        links = list(self.links)
        for fact, note, link in content.NOTES:
            if facts[fact]:
                paragraphs.append(note)
                links.append(link)
        return Advice(
            topic=self.code,
            title=self.title,
            indicator=indicator,
            summary=(variant.summary or self.summary).format_map(values),
            detail="\n\n".join(paragraphs),
            source=content.GUIDELINES[self.source],
            links=tuple(content.LINKS[name] for name in dict.fromkeys(links)),
            suggestions=(self.suggest(inputs, settings),),
            override_reasons=self.override_reasons,
            evidence=tuple(item for item, _ in shown.values()),
            app=self.app,
        )

    # --- checks at import -------------------------------------------------------------------

    def _unknown_facts(self) -> list[str]:
        read = [*names(self.rule), *self.shows, *(fact for fact, _ in self.escalations)]
        read += [name for variant in self.variants for name in names(variant.when)]
        return [f"no finder produces the fact {name!r}" for name in dict.fromkeys(read) if name not in FACT_NAMES]

    def _unknown_names(self) -> list[str]:
        problems = [f"no link {name!r} in content.LINKS" for name in self.links if name not in content.LINKS]
        if self.source not in content.GUIDELINES:
            problems.append(f"no guideline {self.source!r} in content.GUIDELINES")
        indicators = [self.indicator, *(indicator for _, indicator in self.escalations)]
        problems += [f"indicator {i!r} is not one of {INDICATORS}" for i in indicators if i not in INDICATORS]
        age_settings = {f.name for f in fields(EngineSettings) if f.name.startswith("min_age")}
        if self.min_age not in age_settings:
            problems.append(f"age band {self.min_age!r} is not a setting ({sorted(age_settings)})")
        return problems

    def _bad_text(self) -> list[str]:
        texts = [self.summary, self.reasoning]
        texts += [t for v in self.variants for t in (v.summary, v.lead, v.reasoning) if t]
        allowed = SETTING_NAMES | CARD_VALUES
        found = {name for text in texts for _, name, _, _ in string.Formatter().parse(text) if name is not None}
        return [f"text names {{{name}}}, which no setting or card value fills" for name in sorted(found - allowed)]
