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
class EngineSettings:
    # Opioid use, kratom use, MOUD and an open MOUD referral look back this far.
    use_window_days: Count = 90
    withdrawal_window_hours: Count = 72
    # A COWS this recent means severity was just assessed: no withdrawal-assessment card.
    cows_recency_hours: Count = 24
    counseling_window_days: Count = 90
    # The design gives no window for "naloxone on hand". A rescue product ordered or taken in the
    # last year (or still active) counts, so an accepted naloxone suggestion settles the card
    # for at least that long; after that, offering a refill is reasonable advice.
    naloxone_window_days: Count = 365
    cows_withdrawal_threshold: Count = 5
    cows_moud_threshold: Count = 13
    cows_critical_threshold: Count = 25
    # SOWS (Handelsman 1987, 16 items scored 0-4, total 0-64) has no verified severity bands
    # (clinical-content.md section 3). 10 is a project default pending clinical review, chosen
    # below the mean of 13.5 reported in a symptomatic kratom cohort (Rogers 2024). Sites using
    # the 10-item Short Opiate Withdrawal Scale (Gossop, 0-30), also abbreviated SOWS, should
    # set their own value.
    sows_withdrawal_threshold: Count = 10
    min_age_years: Count = 18
    # Sites order an MOUD referral with a local orderable, so there is no default coding: no code
    # in the reference value sets means "referral for MOUD", and SNOMED's "Referral to substance
    # misuse service" (201521000000104) is a UK-extension concept US EHRs will not know. Without
    # a coding the suggestion carries code.text only, and open referrals are found by text.
    moud_referral_code: Code | None = None
    # The only COWS code found, SNOMED 763699005, is an observable entity (the score), not a
    # procedure, and is from a secondary source (withdrawal-codes.csv), so it does not belong in
    # ServiceRequest.code. The COWS order carries code.text unless a site configures its own.
    cows_assessment_code: Code | None = None
    # Bounds on one evaluation, so that no record can buy unbounded CPU; a record past either is
    # refused (RecordTooLarge names the setting), never half evaluated. Resources the rules match
    # are validated with fhir.resources (about 0.1 ms each); a real chart needs a few hundred.
    max_validated_resources: Count = 2000
    # CPU time of the whole evaluation (thread time, so waiting for a busy machine does not count),
    # checked as the record is read and validated. A 10,000-resource chart takes under 0.1 s; the
    # largest body accepted (16 MB, some 25,000 small resources) about 0.5 s.
    max_cpu_seconds: Annotated[float, Field(gt=0, le=60)] = 2.0

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
    def withdrawal_window(self) -> timedelta:
        return timedelta(hours=self.withdrawal_window_hours)

    @property
    def cows_recency(self) -> timedelta:
        return timedelta(hours=self.cows_recency_hours)

    @property
    def counseling_window(self) -> timedelta:
        return timedelta(days=self.counseling_window_days)

    @property
    def naloxone_window(self) -> timedelta:
        return timedelta(days=self.naloxone_window_days)


# Names a card text may quote: every numeric setting (the codes are not text).
SETTING_NAMES = frozenset(f.name for f in dataclasses.fields(EngineSettings) if isinstance(f.default, int))
