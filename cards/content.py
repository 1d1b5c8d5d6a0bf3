"""Wording that several topics share: guidelines, links, evidence labels, the kratom note and
the override reasons every card offers. A topic's own words live in its module, cards/topics/.

Only verified URLs (clinical-content.md section 6, plus the NIDA COWS form) appear here.
"""

from __future__ import annotations

from cards.advice import Link, Reason

# Offered on every card; a topic may add its own. The code also picks the snooze length.
OVERRIDE_REASONS: tuple[Reason, ...] = tuple(
    Reason(code, display)
    for code, display in (
        ("already-addressed", "Already addressed"),
        ("patient-declined", "Patient declined"),
        ("not-clinically-appropriate", "Not clinically appropriate"),
        ("managed-elsewhere", "Managed elsewhere"),
    )
)

# The guideline a card follows: its CDS Hooks `source`.
GUIDELINES: dict[str, Link] = {
    "cdc-2022": Link(
        "CDC Clinical Practice Guideline for Prescribing Opioids for Pain (2022)",
        "https://www.cdc.gov/mmwr/volumes/71/rr/rr7103a1.htm",
    ),
    "asam-2020": Link(
        "ASAM National Practice Guideline for the Treatment of OUD (2020 Focused Update)",
        "https://www.asam.org/Quality-Science/quality/2020-national-practice-guideline",
    ),
}

LINKS: dict[str, Link] = {
    "cows": Link(
        "Clinical Opiate Withdrawal Scale (COWS) form",
        "https://nida.nih.gov/sites/default/files/ClinicalOpiateWithdrawalScale.pdf",
    ),
    "cdc-2022": Link("CDC 2022 opioid prescribing guideline", GUIDELINES["cdc-2022"].url),
    "asam-2020": Link("ASAM 2020 OUD practice guideline", GUIDELINES["asam-2020"].url),
    "kratom": Link(
        "Buprenorphine for kratom withdrawal (UIC Drug Information Group, 2023)",
        "https://dig.pharmacy.uic.edu/faqs/2023-2/august-2023-faqs/what-data-exists-on-the-use-of-buprenorphine-and-buprenorphine-naloxone-for-the-treatment-of-kratom-withdrawal",
    ),
}

# How each kind of evidence is introduced in a card's detail.
EVIDENCE_LABELS: dict[str, str] = {
    "opioid_use": "Opioid medication",
    "oud": "Opioid use disorder",
    "kratom": "Kratom use",
    "withdrawal": "Withdrawal",
    "withdrawal_condition": "Withdrawal diagnosis",
    "withdrawal_observation": "Withdrawal noted",
    "cows": "COWS score",
    "cows_withdrawal": "COWS score",
    "cows_moud": "COWS score",
    "sows": "SOWS score",
    "sows_withdrawal": "SOWS score",
}
EVIDENCE_HEADING = "**Why this card**"
UNDATED = "undated"
MAX_EVIDENCE_LINES = 6

KRATOM_NOTE = (
    "**Kratom** (*Mitragyna speciosa*): mitragynine is a partial mu-opioid agonist and "
    "7-hydroxymitragynine a mu-opioid agonist, so regular use can cause opioid-type dependence "
    "and withdrawal. Buprenorphine, with or without naloxone, has been used to treat kratom "
    "withdrawal and kratom use disorder (case series; UIC Drug Information Group review, 2023)."
)

# (fact, note, link): a card shown while the fact holds adds the note to its detail and the link.
NOTES: tuple[tuple[str, str, str], ...] = (("kratom", KRATOM_NOTE, "kratom"),)
