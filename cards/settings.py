"""Windows, thresholds and site codes the rules use (design section 4 defaults)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any


@dataclass(frozen=True)
class Code:
    """A Coding a site configures (its local orderable, or a standard code)."""

    system: str
    code: str
    display: str = ""

    def as_coding(self) -> dict[str, str]:
        coding = {"system": self.system, "code": self.code}
        if self.display:
            coding["display"] = self.display
        return coding

    @classmethod
    def from_value(cls, key: str, value: Any) -> Code:
        if isinstance(value, Code):
            return value
        if not isinstance(value, Mapping):
            raise ValueError(f"{key}: expected a table with system, code and optional display")
        unknown = set(value) - {"system", "code", "display"}
        if unknown:
            raise ValueError(f"{key}: unknown key {sorted(unknown)[0]!r}")
        parts = {name: value.get(name, "") for name in ("system", "code", "display")}
        if not all(isinstance(part, str) for part in parts.values()):
            raise ValueError(f"{key}: system, code and display must be strings")
        if not parts["system"] or not parts["code"]:
            raise ValueError(f"{key}: system and code are required")
        return cls(**parts)


@dataclass(frozen=True)
class EngineSettings:
    # Opioid use, kratom use, MOUD and an open MOUD referral look back this far.
    use_window_days: int = 90
    withdrawal_window_hours: int = 72
    # A COWS this recent means severity was just assessed: no withdrawal-assessment card.
    cows_recency_hours: int = 24
    counseling_window_days: int = 90
    # The design gives no window for "naloxone on hand". A rescue product ordered or taken in the
    # last year (or still active) counts, so an accepted naloxone suggestion settles the card
    # for at least that long; after that, offering a refill is reasonable advice.
    naloxone_window_days: int = 365
    cows_withdrawal_threshold: int = 5
    cows_moud_threshold: int = 13
    cows_critical_threshold: int = 25
    # SOWS (Handelsman 1987, 16 items scored 0-4, total 0-64) has no verified severity bands
    # (clinical-content.md section 3). 10 is a project default pending clinical review, chosen
    # below the mean of 13.5 reported in a symptomatic kratom cohort (Rogers 2024). Sites using
    # the 10-item Short Opiate Withdrawal Scale (Gossop, 0-30), also abbreviated SOWS, should
    # set their own value.
    sows_withdrawal_threshold: int = 10
    min_age_years: int = 18
    # Sites order an MOUD referral with a local orderable, so there is no default coding: no code
    # in the reference value sets means "referral for MOUD", and SNOMED's "Referral to substance
    # misuse service" (201521000000104) is a UK-extension concept US EHRs will not know. Without
    # a coding the suggestion carries code.text only, and open referrals are found by text.
    moud_referral_code: Code | None = None
    # The only COWS code found, SNOMED 763699005, is an observable entity (the score), not a
    # procedure, and is from a secondary source (withdrawal-codes.csv), so it does not belong in
    # ServiceRequest.code. The COWS order carries code.text unless a site configures its own.
    cows_assessment_code: Code | None = None

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.type == "int" and (type(value) is not int or value < 0):
                raise ValueError(f"{field.name}: expected a non-negative integer, got {value!r}")
            if field.type == "Code | None" and value is not None:
                object.__setattr__(self, field.name, Code.from_value(field.name, value))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> EngineSettings:
        """Build from a TOML-style table (the service's ``[clinical]``); unknown keys fail."""
        mapping = dict(mapping or {})
        known = {field.name for field in fields(cls)}
        for key in mapping:
            if key not in known:
                raise ValueError(f"unknown clinical setting {key!r}")
        return cls(**mapping)

    def replace(self, **changes: Any) -> EngineSettings:
        return dataclasses.replace(self, **changes)

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
