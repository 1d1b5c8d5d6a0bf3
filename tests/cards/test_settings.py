"""EngineSettings: defaults, from_mapping, and every window or threshold actually used."""

from __future__ import annotations

import pytest

from cards import EngineSettings
from tests.cards.chart import (
    F19_WITHDRAWAL,
    OUD,
    OXYCODONE,
    ago,
    condition,
    cows,
    med_request,
    patient,
    procedure,
    sows,
    topics,
)


def test_defaults_match_the_design():
    s = EngineSettings()
    windows = (s.use_window_days, s.withdrawal_window_hours, s.cows_recency_hours, s.counseling_window_days)
    assert windows == (90, 72, 24, 90)
    assert (s.cows_withdrawal_threshold, s.cows_moud_threshold, s.cows_critical_threshold) == (5, 13, 25)
    assert s.min_age_years == 18 and s.sows_withdrawal_threshold == 10
    assert s.moud_referral_code is None and s.cows_assessment_code is None


def test_from_mapping_builds_and_rejects_unknown_keys():
    s = EngineSettings.from_mapping({"cows_moud_threshold": 10,
                                     "cows_assessment_code": {"system": "urn:s", "code": "C"}})
    assert s.cows_moud_threshold == 10 and s.cows_assessment_code.code == "C"
    with pytest.raises(ValueError, match="cows_threshold"):
        EngineSettings.from_mapping({"cows_threshold": 5})
    with pytest.raises(ValueError, match="min_age_years"):
        EngineSettings.from_mapping({"min_age_years": "18"})
    with pytest.raises(ValueError, match="moud_referral_code"):
        EngineSettings.from_mapping({"moud_referral_code": {"system": "urn:s", "colour": "x"}})
    assert EngineSettings.from_mapping(None) == EngineSettings()


OXY = med_request(OXYCODONE)


@pytest.mark.parametrize("change, record, topic, before, after", [
    ({"cows_withdrawal_threshold": 3}, [OXY, cows(4)], "withdrawal-assessment", False, True),
    ({"cows_moud_threshold": 10}, [OXY, cows(11)], "moud-referral", False, True),
    ({"withdrawal_window_hours": 96}, [OXY, cows(8, hours=80)], "withdrawal-assessment", False, True),
    ({"cows_recency_hours": 8}, [OXY, cows(8, hours=10)], "withdrawal-assessment", False, True),
    ({"use_window_days": 120}, [med_request(OXYCODONE, status="completed", authored=ago(days=100)),
                                condition(F19_WITHDRAWAL, recorded=ago(hours=3))], "naloxone", False, True),
    ({"counseling_window_days": 30}, [condition(OUD), procedure(performed=ago(days=40))], "counseling", False, True),
    ({"sows_withdrawal_threshold": 8}, [OXY, sows(8)], "naloxone", False, True),
    ({"min_age_years": 50}, [condition(OUD)], "counseling", True, False),  # patient is 45
])
def test_settings_move_the_boundaries(change, record, topic, before, after):
    assert (topic in topics(patient(), *record)) is before
    assert (topic in topics(patient(), *record, settings=EngineSettings(**change))) is after
