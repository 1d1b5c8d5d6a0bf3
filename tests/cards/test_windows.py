"""Every window of design 4.1 at its edge: in at exactly the boundary, out just past it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cards import Moment
from tests.cards.chart import (
    FENTANYL_UDS,
    ITEM9,
    NOW,
    OUD,
    OXYCODONE,
    PHQ9,
    PREGNANCY,
    SUBOXONE,
    SUICIDE_ATTEMPT,
    ago,
    condition,
    cows,
    draft,
    med_request,
    observation,
    patient,
    phq,
    t40,
    topics,
    uds,
)

SECOND = timedelta(seconds=1)
BUP_ORDER = {"moment": Moment.ORDER, "drafts": (draft(SUBOXONE),)}


def at(delta: timedelta) -> str:
    return (NOW - delta).isoformat()


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def days(n: float) -> timedelta:
    return timedelta(days=n)


# (name, window, build(record-time) -> resources, topic, inputs): the topic is raised at exactly
# the window's edge and not a second beyond it.
EDGES = [
    ("COWS current, 12 h: severity", hours(12), lambda t: [cows(14, hours=0) | {"effectiveDateTime": t}],
     "withdrawal-severity", {}),
    ("COWS recent, 24 h: no assessment while recent", hours(24),
     lambda t: [med_request(OXYCODONE), cows(8) | {"effectiveDateTime": t}], "!withdrawal-assessment", {}),
    ("withdrawal window, 72 h", hours(72), lambda t: [med_request(OXYCODONE), cows(8) | {"effectiveDateTime": t}],
     "withdrawal-assessment", {}),
    ("buprenorphine start, 72 h", hours(72), lambda t: [condition(OUD), med_request(SUBOXONE) | {"authoredOn": t},
                                                        cows(28, hours=0)], "recent start", {}),
    # The latest COWS (an hour ago) within 6 hours of the first dose: possible precipitated withdrawal.
    ("precipitated withdrawal, 6 h after the first dose", hours(7),
     lambda t: [condition(OUD), med_request(SUBOXONE) | {"authoredOn": t}, cows(28, hours=1)], "precipitated", {}),
    ("use window, 90 days: a prescribed opioid", days(90),
     lambda t: [med_request(OXYCODONE, status="completed") | {"authoredOn": t},
                condition(("http://hl7.org/fhir/sid/icd-10-cm", "F19.230", "x"), recorded=ago(hours=3))],
     "withdrawal-assessment", {}),
    ("use window, 90 days: an unprescribed opioid test", days(90),
     lambda t: [uds(FENTANYL_UDS) | {"effectiveDateTime": t}], "moud-referral", {}),
    ("overdose signal, 90 days", days(90), lambda t: [t40("T40.2X1A", "x") | {"recordedDate": t}],
     "moud-referral", {}),
    ("fentanyl overdose signal, 365 days", days(365), lambda t: [t40("T40.411A", "x") | {"recordedDate": t}],
     "moud-referral", {}),
    ("OUD recorded, 365 days", days(365), lambda t: [condition(OUD) | {"recordedDate": t}], "moud-referral", {}),
    ("overdose, 365 days", days(365), lambda t: [t40("T40.411A", "x") | {"recordedDate": t}], "naloxone", {}),
    ("PHQ-9 screen, 365 days", days(365), lambda t: [condition(OUD), phq(PHQ9, 3) | {"effectiveDateTime": t}],
     "!depression-screen", {}),
    ("suicide attempt, 365 days", days(365),
     lambda t: [condition(OUD), condition(SUICIDE_ATTEMPT) | {"recordedDate": t}], "suicide-risk", {}),
    ("PHQ-9 item 9, 30 days", days(30),
     lambda t: [condition(OUD), observation(ITEM9, value=2, when=t)], "suicide-risk", {}),
    ("pregnancy, 300 days", days(300),
     lambda t: [condition(OUD), condition(PREGNANCY) | {"recordedDate": t}], "pregnant", {}),
    ("recent fentanyl test, 7 days", days(7),
     lambda t: [condition(OUD), cows(10, hours=1), uds(FENTANYL_UDS) | {"effectiveDateTime": t}],
     "buprenorphine-start", BUP_ORDER),
]


def raised(name: str, resources: list, inputs: dict) -> bool:
    from tests.cards.chart import evaluate
    advised = evaluate(patient(), *resources, **inputs)
    if name == "precipitated":
        return any("precipitated" in a.summary for a in advised)
    if name == "recent start":
        return any("recent buprenorphine start" in a.summary for a in advised)
    if name == "pregnant":
        return any("In pregnancy" in a.detail for a in advised)
    negate = name.startswith("!")
    present = name.lstrip("!") in {a.topic for a in advised}
    return not present if negate else present


@pytest.mark.parametrize("name, window, build, topic, inputs", EDGES, ids=[e[0] for e in EDGES])
def test_in_at_the_edge_out_just_past_it(name, window, build, topic, inputs):
    assert raised(topic, build(at(window)), inputs), "at the edge"
    assert not raised(topic, build(at(window + SECOND)), inputs), "a second past it"


def test_a_window_is_measured_from_now_not_from_the_record():
    later = NOW + days(2)
    assert "withdrawal-assessment" in topics(patient(), med_request(OXYCODONE), cows(8, hours=30))
    assert "withdrawal-assessment" not in topics(patient(), med_request(OXYCODONE), cows(8, hours=30), now=later)
