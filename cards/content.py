"""Everything a card says, as data. Edit here to change wording; no logic lives in this module.

Placeholders in braces are filled by ``cards.render``: ``{score}`` is the latest COWS score,
``{medication}`` the suggested product's RxNorm display.
Summaries must stay under 140 characters after filling (CDS Hooks 2.0); a test checks every one.
Only verified URLs (clinical-content.md section 6, plus the NIDA COWS form) appear here.
"""

from __future__ import annotations

TOPIC_SYSTEM = "urn:withdrawal-cds:card-topic"
TOPICS: dict[str, str] = {
    "withdrawal-assessment": "Assess withdrawal severity (COWS)",
    "moud-referral": "Consider MOUD and refer",
    "counseling": "Offer counseling or behavioral therapy",
    "naloxone": "Offer naloxone",
}

OVERRIDE_REASON_SYSTEM = "urn:withdrawal-cds:override-reason"
OVERRIDE_REASONS: tuple[dict[str, str], ...] = tuple(
    {"system": OVERRIDE_REASON_SYSTEM, "code": code, "display": display}
    for code, display in (
        ("already-addressed", "Already addressed"),
        ("patient-declined", "Patient declined"),
        ("not-clinically-appropriate", "Not clinically appropriate"),
        ("managed-elsewhere", "Managed elsewhere"),
    )
)

GUIDELINES: dict[str, dict[str, str]] = {
    "cdc-2022": {
        "label": "CDC Clinical Practice Guideline for Prescribing Opioids for Pain (2022)",
        "url": "https://www.cdc.gov/mmwr/volumes/71/rr/rr7103a1.htm",
    },
    "asam-2020": {
        "label": "ASAM National Practice Guideline for the Treatment of OUD (2020 Focused Update)",
        "url": "https://www.asam.org/Quality-Science/quality/2020-national-practice-guideline",
    },
}

LINKS: dict[str, dict[str, str]] = {
    "cows": {
        "label": "Clinical Opiate Withdrawal Scale (COWS) form",
        "url": "https://nida.nih.gov/sites/default/files/ClinicalOpiateWithdrawalScale.pdf",
    },
    "cdc-2022": {"label": "CDC 2022 opioid prescribing guideline", "url": GUIDELINES["cdc-2022"]["url"]},
    "asam-2020": {"label": "ASAM 2020 OUD practice guideline", "url": GUIDELINES["asam-2020"]["url"]},
    "kratom": {
        "label": "Buprenorphine for kratom withdrawal (UIC Drug Information Group, 2023)",
        "url": "https://dig.pharmacy.uic.edu/faqs/2023-2/august-2023-faqs/what-data-exists-on-the-use-of-buprenorphine-and-buprenorphine-naloxone-for-the-treatment-of-kratom-withdrawal",
    },
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

CARDS: dict[str, dict[str, object]] = {
    "withdrawal-assessment": {
        "summary": "Opioid use with signs of withdrawal: assess severity now with COWS",
        "summary_kratom": "Kratom use with signs of withdrawal: assess severity now with COWS",
        "reasoning": (
            "No COWS score is on record for the last 24 hours. The Clinical Opiate Withdrawal "
            "Scale (11 items, 0-48) grades withdrawal: 5-12 mild, 13-24 moderate, 25-36 "
            "moderately severe, over 36 severe. The score guides symptom treatment and when "
            "buprenorphine can be started."
        ),
        "source": "asam-2020",
        "links": ("cows", "asam-2020"),
        "suggestion": "Order a COWS assessment",
        "action": "Create a draft order for a Clinical Opiate Withdrawal Scale (COWS) assessment",
    },
    "moud-referral": {
        "summary": "Consider medication for opioid use disorder (MOUD) and refer for evaluation",
        "summary_kratom": "Kratom use with withdrawal: consider buprenorphine (MOUD) and refer",
        "summary_critical": "COWS {score}: moderately severe or worse withdrawal. Treat now and consider MOUD",
        "reasoning": (
            "No buprenorphine, methadone or extended-release naltrexone is on record for the last "
            "90 days, and no MOUD referral is open. CDC (2022, recommendation 12) and ASAM advise "
            "offering or arranging MOUD; withdrawal management on its own, without MOUD, is not "
            "recommended."
        ),
        "reasoning_critical": (
            "The latest COWS score is {score} (25 or more: moderately severe or worse). Treat "
            "withdrawal now."
        ),
        "source": "asam-2020",
        "links": ("asam-2020", "cdc-2022", "cows"),
        "suggestion": "Refer for MOUD evaluation",
        "action": "Create a draft referral for evaluation for medication for opioid use disorder",
        "order_text": "Referral for evaluation for medication for opioid use disorder (MOUD)",
    },
    "counseling": {
        "summary": "Offer substance use counseling or behavioral therapy",
        "summary_kratom": "Kratom use: offer substance use counseling or behavioral therapy",
        "reasoning": (
            "No substance use counseling is on record for the last 90 days. ASAM recommends "
            "offering psychosocial treatment, such as counseling or behavioral therapy, alongside "
            "medication for opioid use disorder."
        ),
        "source": "asam-2020",
        "links": ("asam-2020",),
        "suggestion": "Refer for substance use counseling",
        "action": "Create a draft order for substance use counseling",
    },
    "naloxone": {
        "summary": "Offer naloxone: overdose risk rises as opioid tolerance falls",
        "reasoning": (
            "No naloxone rescue product is on record (buprenorphine/naloxone does not count). "
            "Tolerance falls during withdrawal, so a return to previous use carries a higher risk "
            "of overdose. CDC (2022, recommendation 8) advises offering naloxone to patients at "
            "increased risk, including those with a substance use disorder or at risk of "
            "returning to a high dose after losing tolerance."
        ),
        "source": "cdc-2022",
        "links": ("cdc-2022",),
        "suggestion": "Prescribe naloxone nasal spray",
        "action": "Create a draft prescription for {medication}",
    },
}

# The COWS order: see EngineSettings.cows_assessment_code for why it is text unless configured.
COWS_ORDER_TEXT = "Clinical Opiate Withdrawal Scale (COWS) assessment"
