"""Wording that several topics share: guidelines, links, evidence labels, the kratom note and
the override reasons every card offers. A topic's own words live in its module, cards/topics/.

Only verified URLs (clinical-content.md sections 6 and 7, plus the NIDA COWS form) appear here.
"""

from __future__ import annotations

from cards.advice import Link, Note, Reason

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
# The CDC IG's recommendation 12 offers "Snooze - already on MOUD elsewhere" (clinical-content.md 1.1).
ON_MOUD_ELSEWHERE = Reason("on-moud-elsewhere", "On MOUD elsewhere (e.g. an opioid treatment program)")

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
    "ca-bridge": Link("CA Bridge on-shift tools: starting buprenorphine", "https://cabridge.org/tools/on-shift/"),
    "suicide-oud-2022": Link(
        "Suicidal ideation among US adults with opioid use disorder, 2009-2020 (eClinicalMedicine, 2022)",
        "https://www.thelancet.com/journals/eclinm/article/PIIS2589-5370(22)00426-6/fulltext",
    ),
}

LINKS: dict[str, Link] = {
    "cows": Link(
        # The PDF, said so: the card's "Score COWS now" links open the form the service serves.
        "COWS reference (PDF)",
        "https://nida.nih.gov/sites/default/files/ClinicalOpiateWithdrawalScale.pdf",
    ),
    "cdc-2022": Link("CDC 2022 opioid prescribing guideline", GUIDELINES["cdc-2022"].url),
    "asam-2020": Link("ASAM 2020 OUD practice guideline", GUIDELINES["asam-2020"].url),
    "kratom": Link(
        "Buprenorphine for kratom withdrawal (UIC Drug Information Group, 2023)",
        "https://dig.pharmacy.uic.edu/faqs/2023-2/august-2023-faqs/what-data-exists-on-the-use-of-buprenorphine-and-buprenorphine-naloxone-for-the-treatment-of-kratom-withdrawal",
    ),
    "dsm5-pain": Link("DSM-5 OUD criteria for patients prescribed opioids",
                      "https://pmc.ncbi.nlm.nih.gov/articles/PMC4782928/table/T1"),
    "findtreatment": Link("FindTreatment.gov (SAMHSA treatment locator)", "https://findtreatment.gov"),
    "no-waiver": Link("No waiver is needed to prescribe buprenorphine (SAMHSA)",
                      "https://www.samhsa.gov/medications-substance-use-disorders/waiver-elimination-mat-act"),
    "ed-buprenorphine": Link("ED-initiated buprenorphine vs referral (D'Onofrio, JAMA 2015)",
                             "https://pmc.ncbi.nlm.nih.gov/articles/PMC5442013"),
    "overdose-survivors": Link("After a nonfatal overdose: mortality and MOUD (Implement Sci 2019)",
                               "http://link.springer.com/article/10.1186/s13012-019-0891-5"),
    "pregnancy": Link("ASAM: opioid use disorder in pregnancy",
                      "https://www.asam.org/quality-care/clinical-recommendations/OUD-in-Pregnancy"),
    "benzodiazepines": Link("FDA 2017: MOUD should not be withheld from patients taking benzodiazepines",
                            "https://www.fda.gov/Drugs/DrugSafety/ucm575307.htm"),
    "low-dose-start": Link("Low-dose buprenorphine initiation (RCORP)",
                           "https://www.rcorp-ta.org/rcorp-corner/best-practice-of-the-month/low-dose-buprenorphine-initiation-what-where-why-how-and-whom"),
    "otc-naloxone": Link("Over-the-counter naloxone (SAMHSA FAQ)",
                         "https://www.samhsa.gov/medications-substance-use-disorders/medications-counseling-related-conditions/opioid-overdose-reversal-medications/over-the-counter-naloxone-faqs"),
    "988": Link("988 Suicide & Crisis Lifeline", "https://988lifeline.org"),
}

# How each kind of evidence is introduced in a card's detail (a score follows where there is one).
EVIDENCE_LABELS: dict[str, str] = {
    "prescribed_opioid": "Opioid medication",
    "moud": "MOUD",
    "unprescribed_opioid": "Opioid test, no matching prescription",
    "kratom_use": "Kratom use",
    "kratom_disorder": "Substance use disorder",
    "withdrawal_diagnosis": "Withdrawal diagnosis",
    "cows": "COWS",
    "sows": "SOWS",
    "withdrawal_noted": "Withdrawal noted",
    "overdose": "Opioid overdose",
    "intentional_overdose": "Intentional overdose",
    "unexplained_overdose": "Overdose, no matching prescription",
    "overdose_any": "Overdose",
    "oud_active": "Opioid use disorder",
    "oud_history": "Opioid use disorder (history)",
    "agonist_therapy": "On agonist therapy",
    "buprenorphine_start": "Buprenorphine started",
    "buprenorphine_order": "Buprenorphine",
    "benzodiazepine": "Benzodiazepine",
    "sud_any": "Substance use disorder",
    "pregnancy": "Pregnancy",
    "major_depression": "Depression",
    "phq9": "PHQ-9",
    "phq2": "PHQ-2",
    "phq9_item9": "PHQ-9 item 9 answer",
    "suicide_attempt": "Suicide attempt",
    "fentanyl_or_methadone": "Fentanyl or methadone",
    "fentanyl_test": "Fentanyl test",
}
# A record that is evidence of the first kind adds nothing by also being evidence of the second.
SUBSUMED_BY: dict[str, set[str]] = {
    "sud_any": {"oud_active", "oud_history", "kratom_disorder"},
    "overdose_any": {"overdose", "intentional_overdose", "unexplained_overdose"},
}
EVIDENCE_HEADING = "**Why this card**"
MORE_EVIDENCE = "- and {n} more"
UNDATED = "undated"

KRATOM_NOTE = (
    "**Kratom** (*Mitragyna speciosa*): mitragynine and 7-hydroxymitragynine act on mu-opioid "
    "receptors, so regular use can cause opioid-type dependence and withdrawal; buprenorphine has "
    "been used for both (case series)."
)

# (fact, note): a card whose detail shows evidence of the fact carries the note; a response shows
# each note once, on its first card that carries it (cds_service/protocol/card_json.py).
NOTES: tuple[tuple[str, Note], ...] = (("kratom_use", Note(KRATOM_NOTE, LINKS["kratom"])),)
