"""What counts, as tables the finders (cards/evidence.py) and the readers (cards/fhir_read.py)
apply: which statuses exclude a record, what a Condition's verification and clinical statuses
mean, which order statuses settle a card, which overdoses signal for a year, and the range of each
withdrawal scale. Medication records say it per source: cards/medications.py SOURCES.
"""

from __future__ import annotations

from cards import analytes

EXCLUDED_STATUS = {
    "Condition": frozenset(),  # Condition has no status; verificationStatus is checked instead
    "Observation": frozenset({"entered-in-error", "cancelled"}),
    "ServiceRequest": frozenset({"entered-in-error", "revoked"}),
    "Procedure": frozenset({"entered-in-error", "not-done", "preparation"}),
}  # medication records: cards/medications.py
EXCLUDED_VERIFICATION = frozenset({"refuted", "entered-in-error"})
# A Condition counts only when confirmed or with no verificationStatus (design 4); these say "maybe".
UNCONFIRMED_VERIFICATION = frozenset({"unconfirmed", "provisional", "differential"})
# Condition states that never count.
UNCOUNTED = ("excluded", "unconfirmed")
ACTIVE_CLINICAL = frozenset({"active", "recurrence", "relapse"})
INACTIVE_CLINICAL = frozenset({"inactive", "remission", "resolved"})
# An order a card's own suggestion would create counts in any of these states (design 3: an
# accepted suggestion settles its card, whatever status the EHR saved it with, unless cancelled).
SETTLING_ORDER_STATUS = frozenset({"draft", "active", "on-hold", "completed"})

# Overdoses of these substances count for the disorder signal for the whole overdose window (365
# days); the others for the signal window (90). None of the three is ever explained but fentanyl by a
# fentanyl product (design 4.1).
LONG_SIGNAL_OVERDOSES = frozenset({analytes.HEROIN, analytes.FENTANYL, analytes.XYLAZINE})
# A COWS total is 0-48 (11 items; Wesson & Ling 2003): anything else is bad data.
COWS_MAX = 48
# A SOWS total (Handelsman 1987, 16 items scored 0-4) is 0-64.
SOWS_MAX = 64
