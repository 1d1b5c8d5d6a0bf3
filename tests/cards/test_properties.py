"""Property tests: the precision invariants of design 4.2, each on its own, and resources unrelated
to the rules never adding or removing a card."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cards import mentions
from cards import valuesets as vs
from tests.cards.chart import (
    FENTANYL_UDS,
    HEROIN_UDS,
    ICD10,
    MITRAGYNINE_PRESENCE,
    OPIATES_UDS,
    OPIOID_USE_WITHDRAWAL,
    OUD,
    OXYCODONE,
    OXYCODONE_UDS,
    PHQ9,
    WITHDRAWAL_SYNDROME,
    ago,
    condition,
    cows,
    item9,
    kratom_note_obs,
    med_request,
    med_statement,
    observation,
    patient,
    phq,
    sows,
    t40,
    topics,
    uds,
)

# An alphabet without o, w or r cannot spell an opioid, "withdrawal", "kratom" or "COWS".
SAFE_TEXT = st.text(alphabet="abcdefghijklmnpqstuvxyz -", min_size=0, max_size=30)
LOINC_VITALS = st.sampled_from(["8867-4", "8480-6", "8462-4", "8310-5", "9279-1", "2708-6", "29463-7"])
HOURS = st.floats(min_value=0, max_value=24 * 400)


def vital():
    return st.builds(lambda code, value, h: observation(("http://loinc.org", code, "vital sign"), value=value,
                                                        when=ago(hours=h)),
                     LOINC_VITALS, st.floats(min_value=-1000, max_value=1000, allow_nan=False), HOURS)


def other_condition():
    return st.builds(lambda c, text: condition(("http://hl7.org/fhir/sid/icd-10-cm", c, text or "x")),
                     st.from_regex(r"[A-EG-Z][0-9]{2}\.[0-9]", fullmatch=True), SAFE_TEXT)


def other_medication():
    rxnorm = "http://www.nlm.nih.gov/research/umls/rxnorm"
    return st.builds(lambda code, text, status: med_request((rxnorm, code, text or "x"), status=status),
                     st.from_regex(r"9[0-9]{7}", fullmatch=True), SAFE_TEXT,
                     st.sampled_from(["active", "completed", "draft", "stopped"]))


def other_types():
    return st.builds(lambda t, text: {"resourceType": t, "id": "x", "text": {"div": text}},
                     st.sampled_from(["Encounter", "AllergyIntolerance", "Immunization", "DiagnosticReport",
                                      "Practitioner"]),
                     SAFE_TEXT)


UNRELATED = st.lists(st.one_of(vital(), other_condition(), other_medication(), other_types()), max_size=25)

BASES = [
    [patient(), med_request(OXYCODONE)],
    [patient(), condition(OUD)],
    [patient(), med_request(OXYCODONE), cows(9)],
    [patient(), med_request(OXYCODONE), cows(26, hours=3)],
    [patient(), kratom_note_obs(), cows(7)],
    [patient(), uds(FENTANYL_UDS), item9(2)],
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extra=UNRELATED, base=st.sampled_from(range(len(BASES))), position=st.integers(min_value=0, max_value=10))
def test_unrelated_resources_never_change_the_cards(extra, base, position):
    record = list(BASES[base])
    expected = topics(*record)
    mixed = record[:position] + extra + record[position:]
    assert topics(*mixed) == expected


# --- invariant 1: an opioid analgesic alone raises no card ---------------------------------------

ANALGESICS = sorted(k for k in vs.OPIOID_MEDICATIONS.keys - vs.MOUD_PRODUCTS.keys
                    if vs.OPIOID_MEDICATIONS.display(k) and k not in vs.BENZODIAZEPINES.keys)
STATUSES = st.sampled_from(["active", "completed", "stopped", "on-hold", "draft"])


def analgesic():
    """An opioid analgesic order or statement, of any product, status and age."""
    def build(key, status, days, statement):
        code = (*key, vs.OPIOID_MEDICATIONS.display(key))
        if statement:
            return med_statement(code, status="active" if status == "draft" else status, effective=ago(days=days))
        return med_request(code, status=status, authored=ago(days=days))
    return st.builds(build, st.sampled_from(ANALGESICS), STATUSES, st.floats(0, 2000), st.booleans())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(products=st.lists(analgesic(), min_size=1, max_size=4), extra=UNRELATED,
       birth_year=st.integers(1930, 2012))
def test_an_opioid_analgesic_alone_raises_no_card(products, extra, birth_year):
    assert topics(patient(birth=f"{birth_year}-01-01"), *products, *extra) == set()


# --- invariant 2: dependence only raises at most assessment, severity and naloxone -----------------

def withdrawal_evidence():
    hours = st.floats(0, 72)
    return st.one_of(
        st.builds(lambda score, h: cows(score, hours=h), st.integers(5, 48), hours),
        st.builds(lambda score, h: sows(score, hours=h), st.integers(10, 64), hours),
        st.builds(lambda h: condition(OPIOID_USE_WITHDRAWAL, recorded=ago(hours=h)), hours),
        st.builds(lambda h: condition(WITHDRAWAL_SYNDROME, onset=ago(hours=h)), hours),
        st.builds(lambda h, value: observation(text="Opioid withdrawal signs", value_string=value, when=ago(hours=h)),
                  hours, st.sampled_from([None, "present", "yes", "present: sweating, yawning"])),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(product=analgesic(), signs=st.lists(withdrawal_evidence(), min_size=1, max_size=3), extra=UNRELATED)
def test_dependence_only_raises_at_most_assessment_severity_and_naloxone(product, signs, extra):
    found = topics(patient(), med_request(OXYCODONE), product, *signs, *extra)
    assert found <= {"withdrawal-assessment", "withdrawal-severity", "naloxone"}
    assert "naloxone" in found


# --- invariant 3: a negated mention, a negative test, an entered-in-error or refuted record --------

CUES_BEFORE = ["denies", "denied", "no", "not", "never", "negative for", "without", "absent", "ruled out",
               "none"]
POSITIVE_TESTS = [FENTANYL_UDS, HEROIN_UDS, OXYCODONE_UDS, OPIATES_UDS, MITRAGYNINE_PRESENCE]


def neutral_evidence():
    """Records that look like evidence but are not: each must change nothing."""
    cue, days = st.sampled_from(CUES_BEFORE), st.floats(0, 60)
    return st.one_of(
        st.builds(lambda c, d: kratom_note_obs(days=1) | {"valueString": f"{c.capitalize()} kratom use"}, cue, days),
        st.builds(lambda c: observation(text="Withdrawal assessment", value_string=f"{c.capitalize()} withdrawal"),
                  cue),
        st.builds(lambda c: condition(None, text=f"{c.capitalize()} opioid withdrawal", recorded=ago(hours=3)), cue),
        st.builds(lambda c: condition(None, text=f"{c.capitalize()} opioid overdose", recorded=ago(days=3)), cue),
        st.builds(lambda code, d: uds(code, "NEG", days=d), st.sampled_from(POSITIVE_TESTS), days),
        st.builds(lambda code, d: uds(code, status="entered-in-error", days=d), st.sampled_from(POSITIVE_TESTS), days),
        st.builds(lambda v: condition(OUD, clinical=None, verification=v),
                  st.sampled_from(["entered-in-error", "refuted"])),
        st.builds(lambda v: t40("T40.411A", "Poisoning by fentanyl", clinical=None, verification=v),
                  st.sampled_from(["entered-in-error", "refuted"])),
        st.builds(lambda h: cows(20, hours=h, status="entered-in-error"), st.floats(0, 72)),
        st.builds(lambda: phq(PHQ9, 20) | {"status": "entered-in-error"}),
        st.builds(lambda: item9(3) | {"status": "cancelled"}),
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(range(len(BASES))), neutral=st.lists(neutral_evidence(), min_size=1, max_size=3))
def test_negated_negative_entered_in_error_and_refuted_records_raise_nothing(base, neutral):
    assert topics(*BASES[base], *neutral) == topics(*BASES[base])


def test_every_negation_cue_before_a_term_is_in_the_table():
    """Each cue the property writes before a term is one of the design's (cards/mentions.py)."""
    assert {c.replace(" for", "") for c in CUES_BEFORE} <= set(mentions.NEGATED)


# --- invariant 4: severity and assessment never fire together -------------------------------------

@settings(max_examples=200, deadline=None)
@given(scores=st.lists(st.tuples(st.integers(0, 48), st.floats(0, 80)), max_size=4),
       prescribed=st.booleans(), diagnosis_hours=st.one_of(st.none(), st.floats(0, 72)))
def test_severity_and_assessment_never_fire_together(scores, prescribed, diagnosis_hours):
    record = [patient(), *(cows(score, hours=h) for score, h in scores)]
    if prescribed:
        record.append(med_request(OXYCODONE))
    if diagnosis_hours is not None:
        record.append(condition((ICD10, "F11.23", "Opioid dependence with withdrawal"),
                                recorded=ago(hours=diagnosis_hours)))
    found = topics(*record)
    assert not {"withdrawal-severity", "withdrawal-assessment"} <= found


@settings(max_examples=60, deadline=None)
@given(score=st.integers(min_value=0, max_value=48), hours=st.floats(min_value=0, max_value=200))
def test_cows_rules_follow_the_bands(score, hours):
    found = topics(patient(), med_request(OXYCODONE), cows(score, hours=hours))
    in_window = hours <= 72
    assert ("naloxone" in found) == (in_window and score >= 5)
    assert ("withdrawal-severity" in found) == (hours <= 12 and score >= 13)
    # No COWS in 24 hours, or a moderate one over 12 hours old that is due again (design 4.2 v3).
    due = hours > 24 or (score >= 13 and hours > 12)
    assert ("withdrawal-assessment" in found) == (in_window and score >= 5 and due)
    assert not found & {"moud-referral", "counseling", "depression-screen"}  # dependence only
