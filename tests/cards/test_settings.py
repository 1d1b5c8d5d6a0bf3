"""EngineSettings: the design's defaults, from_mapping, and every window or threshold actually used."""

from __future__ import annotations

import dataclasses

import pytest

from cards import EngineSettings, Moment
from tests.cards.chart import (
    ALPRAZOLAM,
    F19_WITHDRAWAL,
    FENTANYL_INJECTION,
    FENTANYL_UDS,
    OUD,
    OXYCODONE,
    PHQ9,
    PREGNANCY,
    SUBOXONE,
    SUICIDE_ATTEMPT,
    administration,
    advice_for,
    ago,
    condition,
    cows,
    draft,
    item9,
    med_request,
    patient,
    phq,
    procedure,
    service_request,
    sows,
    t40,
    topics,
    uds,
)

DESIGN_DEFAULTS = {
    "use_window_days": 90, "oud_window_days": 365, "overdose_window_days": 365, "overdose_signal_window_days": 90,
    "explaining_window_days": 90, "withdrawal_window_hours": 72, "cows_recency_hours": 24, "cows_current_hours": 12,
    "buprenorphine_start_window_hours": 72, "recent_fentanyl_methadone_days": 7, "counseling_window_days": 90,
    "naloxone_window_days": 365, "pregnancy_window_days": 300, "depression_window_days": 365,
    "item9_window_days": 30, "suicide_attempt_window_days": 365, "cows_withdrawal_threshold": 5,
    "cows_severity_threshold": 13, "cows_critical_threshold": 25, "cows_buprenorphine_threshold": 8,
    "sows_withdrawal_threshold": 10, "phq9_depression_threshold": 10, "min_age_years": 18,
    "adolescent_min_age_years": 12,
    # v3
    "given_explaining_window_days": 7, "on_buprenorphine_days": 14, "open_cows_order_hours": 12,
    "buprenorphine_min_age_years": 16,
}
# Not of the design: project defaults pending clinical review (cards/settings.py says why).
PROJECT_DEFAULTS = {"precipitated_withdrawal_hours": 6}


def test_defaults_match_the_design():
    s = EngineSettings()
    assert {name: getattr(s, name) for name in DESIGN_DEFAULTS} == DESIGN_DEFAULTS
    assert s.moud_referral_code is s.cows_assessment_code is s.phq9_order_code is None
    assert s.withdrawal_order_set is s.buprenorphine_protocol is None


# Not of the design: bounds on the work of one evaluation (issue 11), tested in tests/test_cpu_bounds.py.
EVALUATION_BOUNDS = {"max_validated_resources": 2000, "max_text_chars": 4096}


def test_every_numeric_setting_is_listed_here():
    numeric = {f.name for f in dataclasses.fields(EngineSettings) if isinstance(f.default, int)}
    assert numeric == set(DESIGN_DEFAULTS) | set(EVALUATION_BOUNDS) | set(PROJECT_DEFAULTS)
    assert {name: getattr(EngineSettings(), name) for name in PROJECT_DEFAULTS} == PROJECT_DEFAULTS
    assert {name: getattr(EngineSettings(), name) for name in EVALUATION_BOUNDS} == EVALUATION_BOUNDS


def test_from_mapping_builds_and_rejects_unknown_keys():
    s = EngineSettings.from_mapping({"cows_severity_threshold": 10,
                                     "cows_assessment_code": {"system": "urn:s", "code": "C"},
                                     "withdrawal_order_set": {"label": "Order set", "url": "https://ehr.example/os"}})
    assert s.cows_severity_threshold == 10 and s.cows_assessment_code.code == "C"
    assert s.withdrawal_order_set.url == "https://ehr.example/os"
    for bad, named in [({"cows_threshold": 5}, "cows_threshold"), ({"min_age_years": "18"}, "min_age_years"),
                       ({"moud_referral_code": {"system": "urn:s", "colour": "x"}}, "moud_referral_code"),
                       ({"buprenorphine_protocol": {"label": "x", "url": "javascript:alert(1)"}},
                        "buprenorphine_protocol"),
                       ({"cows_moud_threshold": 13}, "cows_moud_threshold")]:
        with pytest.raises(ValueError, match=named):
            EngineSettings.from_mapping(bad)
    assert EngineSettings.from_mapping(None) == EngineSettings()


OXY = med_request(OXYCODONE)
ORDER_BUP = {"moment": Moment.ORDER, "drafts": (draft(SUBOXONE),)}


@pytest.mark.parametrize("change, record, topic, before, after, inputs", [
    ({"cows_withdrawal_threshold": 3}, [OXY, cows(4)], "withdrawal-assessment", False, True, {}),
    ({"withdrawal_window_hours": 96}, [OXY, cows(8, hours=80)], "withdrawal-assessment", False, True, {}),
    ({"cows_recency_hours": 8}, [OXY, cows(8, hours=10)], "withdrawal-assessment", False, True, {}),
    ({"cows_current_hours": 20}, [cows(14, hours=15)], "withdrawal-severity", False, True, {}),
    ({"cows_severity_threshold": 10}, [cows(11, hours=2)], "withdrawal-severity", False, True, {}),
    ({"cows_buprenorphine_threshold": 11}, [condition(OUD), cows(10, hours=1)], "buprenorphine-start", False, True,
     ORDER_BUP),
    ({"recent_fentanyl_methadone_days": 10}, [condition(OUD), cows(10, hours=1), uds(FENTANYL_UDS, days=8)],
     "buprenorphine-start", False, True, ORDER_BUP),
    ({"use_window_days": 120}, [med_request(OXYCODONE, status="completed", authored=ago(days=100)),
                                condition(F19_WITHDRAWAL, recorded=ago(hours=3))], "withdrawal-assessment", False, True,
     {}),
    ({"oud_window_days": 500}, [condition(OUD, recorded=ago(days=400))], "moud-referral", False, True, {}),
    ({"overdose_signal_window_days": 120}, [t40("T40.2X1A", "x", days=100)], "moud-referral", False, True, {}),
    ({"overdose_window_days": 500}, [t40("T40.411A", "x", days=400)], "naloxone", False, True, {}),
    ({"explaining_window_days": 10}, [t40("T40.2X1A", "x", days=5), med_request(OXYCODONE, status="completed",
                                                                                 authored=ago(days=30))],
     "moud-referral", False, True, {}),
    ({"counseling_window_days": 30}, [condition(OUD), procedure(performed=ago(days=40))], "counseling", False, True,
     {}),
    ({"naloxone_window_days": 30}, [condition(OUD), med_request(OXYCODONE), med_request(
        ("http://www.nlm.nih.gov/research/umls/rxnorm", "1725059", "naloxone"), status="completed",
        authored=ago(days=40))], "naloxone", False, True, {}),
    ({"sows_withdrawal_threshold": 8}, [OXY, sows(8)], "naloxone", False, True, {}),
    ({"pregnancy_window_days": 30}, [condition(OUD), condition(PREGNANCY, recorded=ago(days=40)),
                                     med_request(ALPRAZOLAM)], "moud-referral", "pregnant", "benzodiazepine", {}),
    ({"depression_window_days": 30}, [condition(OUD), phq(PHQ9, 3, days=40)], "depression-screen", False, True, {}),
    ({"phq9_depression_threshold": 15}, [condition(OUD), phq(PHQ9, 12)], "counseling", "depression", "plain", {}),
    ({"item9_window_days": 60}, [condition(OUD), item9(1, days=40)], "suicide-risk", False, True, {}),
    ({"suicide_attempt_window_days": 30}, [condition(OUD), condition(SUICIDE_ATTEMPT, recorded=ago(days=40))],
     "suicide-risk", True, False, {}),
    ({"adolescent_min_age_years": 50}, [condition(OUD)], "counseling", True, False, {}),  # patient is 45
    ({"adolescent_min_age_years": 50}, [condition(OUD)], "naloxone", True, False, {}),
    ({"buprenorphine_min_age_years": 50}, [condition(OUD)], "buprenorphine-start", True, False,
     {"moment": Moment.ORDER, "drafts": (draft(SUBOXONE),)}),
    ({"given_explaining_window_days": 1},
     [uds(FENTANYL_UDS, days=1), administration(FENTANYL_INJECTION, when=ago(days=3))],
     "moud-referral", False, True, {}),
    ({"on_buprenorphine_days": 5}, [condition(OUD), med_request(SUBOXONE, status="completed", authored=ago(days=10))],
     "buprenorphine-start", False, True, {"moment": Moment.ORDER, "drafts": (draft(SUBOXONE),)}),
    ({"open_cows_order_hours": 2}, [OXY, condition(F19_WITHDRAWAL, recorded=ago(hours=3)),
                                    service_request(text="COWS q2h", authored=ago(hours=3))],
     "withdrawal-assessment", False, True, {}),
])
def test_settings_move_the_boundaries(change, record, topic, before, after, inputs):
    if isinstance(before, bool):
        assert (topic in topics(patient(), *record, **inputs)) is before
        assert (topic in topics(patient(), *record, settings=EngineSettings(**change), **inputs)) is after
    else:  # which wording variant the card takes
        assert variant_of(advice_for(topic, patient(), *record, **inputs)) == before
        assert variant_of(advice_for(topic, patient(), *record, settings=EngineSettings(**change), **inputs)) == after


def variant_of(advice) -> str:
    """The wording variant a card took, by the words only that variant says."""
    said = {"pregnant": "In pregnancy", "benzodiazepine": "because of a benzodiazepine",
            "depression": "Depression is on record"}
    return next((name for name, words in said.items() if words in advice.detail), "plain")
