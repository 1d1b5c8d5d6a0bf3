"""Windows, thresholds and site codes the rules use (design section 4 defaults).

One declaration per setting: the dataclasses are validated by pydantic, so the service's
``[clinical]`` table, a test and a direct caller are all checked by the same fields.
Card text quotes these values by name (``{cows_recency_hours}``), so changing one changes the
reason a card gives along with the rule.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import timedelta
from functools import cached_property
from typing import Annotated, Any

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass

from cards.terms import MAX_TEXT_CHARS, REMEMBERED_TEXT_LENGTH

# Unknown keys are refused (a typo must not silently keep the default); numbers must be numbers.
_FORBID = ConfigDict(extra="forbid")
Count = Annotated[int, Field(ge=0, strict=True)]
Text = Annotated[str, Field(strict=True)]
Required = Annotated[str, Field(strict=True, min_length=1)]


@dataclass(frozen=True, config=_FORBID)
class Code:
    """A Coding a site configures (its local orderable, or a standard code)."""

    system: Required
    code: Required
    display: Text = ""

    def as_coding(self) -> dict[str, str]:
        coding = {"system": self.system, "code": self.code}
        if self.display:
            coding["display"] = self.display
        return coding


@dataclass(frozen=True, config=_FORBID)
class SiteLink:
    """A page of the site's own (an order set, a protocol) that a card links where configured."""

    label: Required
    url: Annotated[str, Field(strict=True, pattern=r"^https?://\S+$")]


@dataclass(frozen=True, config=_FORBID)
class EngineSettings:
    # --- windows (design v2 section 4.1) ---
    # Prescribed and unprescribed opioid, kratom use, MOUD, benzodiazepines, an open MOUD referral.
    use_window_days: Count = 90
    # An OUD diagnosis recorded (onset, asserted) this recently is current without corroboration.
    oud_window_days: Count = 365
    # Overdoses count for naloxone and suicide risk this long; for the disorder signal, the shorter.
    overdose_window_days: Count = 365
    overdose_signal_window_days: Count = 90
    # A prescription this long before a positive test or an overdose explains it.
    explaining_window_days: Count = 90
    withdrawal_window_hours: Count = 72
    # An opioid given in care (an administration: in the ED, by EMS) explains a matching test or an
    # overdose this long after it (design 4.1 v3).
    given_explaining_window_days: Count = 7
    # "On buprenorphine": a buprenorphine MOUD product taken or given this recently; ordering it then
    # is a renewal or a switch, not a start.
    on_buprenorphine_days: Count = 14
    # An open COWS order silences the assessment card this long (was 72 hours: an order never done
    # must not silence it for days).
    open_cows_order_hours: Count = 12
    # A moderate COWS this soon after the first buprenorphine dose suggests precipitated withdrawal;
    # later, a dose that is too low. Precipitated withdrawal begins within about an hour of a
    # sublingual dose and peaks within a few (ASAM 2023 clinical considerations); 6 hours is a
    # project default pending clinical review.
    precipitated_withdrawal_hours: Count = 6
    # A COWS this recent means severity was just assessed: no withdrawal-assessment card.
    cows_recency_hours: Count = 24
    # The latest COWS, if this recent, says how severe withdrawal is now (withdrawal-severity,
    # buprenorphine-start).
    cows_current_hours: Count = 12
    # "Buprenorphine started recently": its first product on record is this recent.
    buprenorphine_start_window_hours: Count = 72
    # Fentanyl or methadone this recent makes precipitated withdrawal likelier at a buprenorphine start.
    recent_fentanyl_methadone_days: Count = 7
    counseling_window_days: Count = 90
    # The design gives no window for "naloxone on hand" beyond a year. A rescue product ordered or
    # taken in the last year (or still active) counts, so an accepted naloxone suggestion settles
    # the card for at least that long; after that, offering a refill is reasonable advice.
    naloxone_window_days: Count = 365
    pregnancy_window_days: Count = 300
    # PHQ-2/PHQ-9 screens and a positive PHQ-9 count this long.
    depression_window_days: Count = 365
    item9_window_days: Count = 30
    suicide_attempt_window_days: Count = 365
    # --- thresholds ---
    cows_withdrawal_threshold: Count = 5
    # Moderate withdrawal (COWS 13-24) or worse: withdrawal-severity; critical from moderately severe.
    cows_severity_threshold: Count = 13
    cows_critical_threshold: Count = 25
    # Standard buprenorphine starts wait for objective withdrawal (CA Bridge: COWS 8 or more).
    cows_buprenorphine_threshold: Count = 8
    # SOWS (Handelsman 1987, 16 items scored 0-4, total 0-64) has no verified severity bands
    # (clinical-content.md section 3). 10 is a project default pending clinical review, chosen
    # below the mean of 13.5 reported in a symptomatic kratom cohort (Rogers 2024). Sites using
    # the 10-item Short Opiate Withdrawal Scale (Gossop, 0-30), also abbreviated SOWS, should
    # set their own value.
    sows_withdrawal_threshold: Count = 10
    # PHQ-9 of 10 or more: moderate depression or worse (Kroenke 2001), design 4.1.
    phq9_depression_threshold: Count = 10
    # --- age bands: each topic names one ---
    # No topic reads it since v3 (every topic is 12+ or 16+): kept so that configs setting it still load.
    min_age_years: Count = 18
    adolescent_min_age_years: Count = 12
    # Buprenorphine is labelled from 16 (buprenorphine-start, moud-continuation).
    buprenorphine_min_age_years: Count = 16
    # --- site codes and pages ---
    # Sites order an MOUD referral with a local orderable, so there is no default coding: no code
    # in the reference value sets means "referral for MOUD", and SNOMED's "Referral to substance
    # misuse service" (201521000000104) is a UK-extension concept US EHRs will not know. Without
    # a coding the suggestion carries code.text only, and open referrals are found by text.
    moud_referral_code: Code | None = None
    # The only COWS code found, SNOMED 763699005, is an observable entity (the score), not a
    # procedure, and is from a secondary source (withdrawal-codes.csv), so it does not belong in
    # ServiceRequest.code. The COWS order carries code.text unless a site configures its own.
    cows_assessment_code: Code | None = None
    # No verified national orderable for "administer a PHQ-9" either (44261-6 is the total score,
    # an observation): text unless a site configures its own.
    phq9_order_code: Code | None = None
    # A validated suicide risk screen (C-SSRS, ASQ) as the site orders it: the suicide-risk card
    # suggests it where configured (no national orderable).
    suicide_screen_code: Code | None = None
    withdrawal_order_set: SiteLink | None = None
    buprenorphine_protocol: SiteLink | None = None
    # Bounds on one evaluation, so that no record can buy unbounded CPU; a record past either is
    # refused (RecordTooLarge names the setting), never half evaluated. Resources the rules match
    # are validated with fhir.resources (about 0.1 ms each); a real chart needs a few hundred.
    max_validated_resources: Count = 2000
    # CPU time of the whole evaluation (thread time, so waiting for a busy machine does not count),
    # checked as the record is read and validated; a caller that sieves the request first counts
    # the sieving in it too (Record.build's cpu_until). A 10,000-resource chart takes under 0.1 s; the
    # largest body accepted (16 MB, some 25,000 small resources) about 0.5 s.
    max_cpu_seconds: Annotated[float, Field(gt=0, le=60)] = 2.0
    # The most of any one text (a display, a code's text, a note, a value) the rules read: a
    # mention further in is not seen. Clinical wording is far shorter; raise it to read long
    # annotations whole (each character costs every text pattern once). At least 256 characters
    # (REMEMBERED_TEXT_LENGTH: a remembered classification must not depend on it).
    max_text_chars: Annotated[int, Field(ge=REMEMBERED_TEXT_LENGTH, le=1_048_576, strict=True)] = MAX_TEXT_CHARS

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> EngineSettings:
        """Build from a TOML-style table (the service's ``[clinical]``); unknown keys fail."""
        return cls(**dict(mapping or {}))

    def replace(self, **changes: Any) -> EngineSettings:
        return dataclasses.replace(self, **changes)

    @cached_property
    def text_values(self) -> dict[str, int]:
        """The numeric settings by name, for card text such as "no COWS in {cows_recency_hours} hours"."""
        return {name: getattr(self, name) for name in SETTING_NAMES}

    @property
    def use_window(self) -> timedelta:
        return timedelta(days=self.use_window_days)

    @property
    def oud_window(self) -> timedelta:
        return timedelta(days=self.oud_window_days)

    @property
    def overdose_window(self) -> timedelta:
        return timedelta(days=self.overdose_window_days)

    @property
    def overdose_signal_window(self) -> timedelta:
        return timedelta(days=self.overdose_signal_window_days)

    @property
    def explaining_window(self) -> timedelta:
        return timedelta(days=self.explaining_window_days)

    @property
    def given_explaining_window(self) -> timedelta:
        return timedelta(days=self.given_explaining_window_days)

    @property
    def on_buprenorphine_window(self) -> timedelta:
        return timedelta(days=self.on_buprenorphine_days)

    @property
    def open_cows_order_window(self) -> timedelta:
        return timedelta(hours=self.open_cows_order_hours)

    @property
    def precipitated_withdrawal_window(self) -> timedelta:
        return timedelta(hours=self.precipitated_withdrawal_hours)

    @property
    def withdrawal_window(self) -> timedelta:
        return timedelta(hours=self.withdrawal_window_hours)

    @property
    def cows_recency(self) -> timedelta:
        return timedelta(hours=self.cows_recency_hours)

    @property
    def cows_current(self) -> timedelta:
        return timedelta(hours=self.cows_current_hours)

    @property
    def buprenorphine_start_window(self) -> timedelta:
        return timedelta(hours=self.buprenorphine_start_window_hours)

    @property
    def recent_fentanyl_methadone(self) -> timedelta:
        return timedelta(days=self.recent_fentanyl_methadone_days)

    @property
    def counseling_window(self) -> timedelta:
        return timedelta(days=self.counseling_window_days)

    @property
    def naloxone_window(self) -> timedelta:
        return timedelta(days=self.naloxone_window_days)

    @property
    def pregnancy_window(self) -> timedelta:
        return timedelta(days=self.pregnancy_window_days)

    @property
    def depression_window(self) -> timedelta:
        return timedelta(days=self.depression_window_days)

    @property
    def item9_window(self) -> timedelta:
        return timedelta(days=self.item9_window_days)

    @property
    def suicide_attempt_window(self) -> timedelta:
        return timedelta(days=self.suicide_attempt_window_days)

# Names a card text may quote: every numeric setting (the codes are not text).
SETTING_NAMES = frozenset(f.name for f in dataclasses.fields(EngineSettings) if isinstance(f.default, int))
