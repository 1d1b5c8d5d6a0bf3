"""Topics are units: one module each, in a registry, checked when they are built."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import pytest

import cards.engine
import cards.topics
from cards import content, suggestions
from cards import valuesets as vs
from cards.advice import Suggestion
from cards.evidence import Facts
from cards.rules import AllOf, Not
from cards.topic import Topic, Variant
from tests.cards.chart import OUD, condition, cows, evaluate, med_request, patient, topics


def _suggest(inputs, settings, facts):
    return Suggestion("Do it", "Create a draft order", suggestions.service_request(inputs, "an order"))


def toy(**changes) -> Topic:
    fields = dict(code="toy", title="A toy topic", rule=AllOf("oud_active", Not("end_of_life")), indicator="info",
                  source="asam-2020", summary="Toy advice", reasoning="Because {use_window_days} days.",
                  suggest=_suggest, shows=("oud_active",), links=("cows",))
    return Topic(**{**fields, **changes})


def test_every_topic_module_is_registered():
    modules = [importlib.import_module(f"cards.topics.{m.name}") for m in pkgutil.iter_modules(cards.topics.__path__)]
    assert modules, "no topic modules found"
    for module in modules:
        assert module.TOPIC in cards.topics.TOPICS, f"{module.__name__} is not listed in cards/topics/__init__.py"
    assert len({t.code for t in cards.topics.TOPICS}) == len(cards.topics.TOPICS) == len(modules)


def test_a_new_topic_is_one_value_in_the_registry(monkeypatch):
    """What adding a topic takes: build a Topic, list it. Nothing else changes."""
    monkeypatch.setattr(cards.engine, "TOPICS", (*cards.topics.TOPICS, toy()))
    (advice,) = [a for a in evaluate(patient(), condition(OUD)) if a.topic == "toy"]
    assert (advice.title, advice.indicator, advice.summary) == ("A toy topic", "info", "Toy advice")
    assert "Because 90 days." in advice.detail and "Opioid use disorder" in advice.detail
    assert advice.links == (content.LINKS["cows"],) and advice.source == content.GUIDELINES["asam-2020"]
    assert advice.suggestions[0].resource["code"] == {"text": "an order"}
    assert "toy" not in topics(patient(), med_request())


@pytest.mark.parametrize("change, problem", [
    ({"rule": AllOf("oud_active", "oudd")}, "no finder produces the fact 'oudd'"),
    ({"shows": ("opioid_uses",)}, "no finder produces the fact 'opioid_uses'"),
    ({"escalations": (("cows_critcal", "critical"),)}, "no finder produces the fact 'cows_critcal'"),
    ({"variants": (Variant(when="kratom_onl", summary="x"),)}, "no finder produces the fact 'kratom_onl'"),
    ({"links": ("nida",)}, "no link 'nida'"),
    ({"source": "who-2009"}, "no guideline 'who-2009'"),
    ({"indicator": "hard-stop"}, "indicator 'hard-stop'"),
    ({"min_age": "min_age"}, "age band 'min_age'"),
    ({"reasoning": "No COWS in {cows_recency} hours"}, "text names {cows_recency}"),
    ({"variants": (Variant(when="oud_active", lead="At {threshold} or more"),)}, "text names {threshold}"),
])
def test_a_broken_topic_fails_when_it_is_built(change, problem):
    with pytest.raises(ValueError, match="topic toy: .*" + problem.replace("{", r"\{").replace("(", r"\(")):
        toy(**change)


def test_an_unknown_fact_is_an_error_not_false():
    facts = Facts(evidence={"oud": []})
    assert facts["oud"] is False
    with pytest.raises(KeyError, match="oudd"):
        facts["oudd"]


def test_a_suggestion_code_missing_from_its_value_set_fails_at_import():
    with pytest.raises(LookupError, match="1725058"):
        suggestions.coding((vs.RXNORM, "1725058"), vs.NALOXONE_RESCUE)


def test_the_text_a_topic_states_follows_its_settings():
    (topic,) = [t for t in cards.topics.TOPICS if t.code == "withdrawal-assessment"]
    later = dataclasses.replace(topic)  # rebuilt and re-checked like any topic
    assert later == topic
    settings = cards.EngineSettings(cows_recency_hours=6)
    advice = [a for a in evaluate(patient(), med_request(), cows(7, hours=8), settings=settings)
              if a.topic == "withdrawal-assessment"]
    assert advice and "in the last 6 hours" in advice[0].detail
