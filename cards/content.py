"""Wording that several topics share: guidelines, links, evidence labels, the kratom note and
the override reasons every card offers. A topic's own words live in its module, cards/topics/.

Only verified URLs appear here: tests/cards/test_links.py records where each was verified.
"""

from __future__ import annotations

from cards import valuesets as vs
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
# Naloxone the record cannot show (design 4.2 v3); [snooze] hides the card 365 days for it.
HAS_NALOXONE = Reason("has-naloxone", "Patient already has naloxone (over the counter or a community program)")

# The guideline a card follows: its CDS Hooks `source`. Each URL is checked against its source in
# tests/cards/test_links.py (the list of URLs and where each was verified).
GUIDELINES: dict[str, Link] = {
    "cdc-2022": Link(
        "CDC Clinical Practice Guideline for Prescribing Opioids for Pain (2022)",
        "https://www.cdc.gov/mmwr/volumes/71/rr/rr7103a1.htm",
    ),
    "asam-2020": Link(
        "ASAM National Practice Guideline for the Treatment of OUD (2020 Focused Update)",
        "https://doi.org/10.1097/ADM.0000000000000633",
    ),
    "ca-bridge": Link("CA Bridge on-shift tools: starting buprenorphine", "https://cabridge.org/tools/on-shift/"),
    "hhs-tapering-2019": Link(
        "HHS Guide for Clinicians on the Appropriate Dosage Reduction or Discontinuation of Long-Term Opioid "
        "Analgesics (2019; its authors' summary in JAMA)",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC7145754",
    ),
    "samhsa-overdose-toolkit": Link(
        "SAMHSA Overdose Prevention and Response Toolkit (PEP23-03-00-001, PDF)",
        "https://library.samhsa.gov/sites/default/files/overdose-prevention-response-kit-pep23-03-00-001.pdf",
    ),
    "uspstf-depression": Link(
        "USPSTF: Screening for Depression and Suicide Risk in Adults (2023); in Children and Adolescents (2022)",
        "https://www.uspreventiveservicestaskforce.org/uspstf/recommendation/screening-depression-suicide-risk-adults",
    ),
    "tjc-npsg-15": Link(
        "The Joint Commission NPSG 15.01.01: reduce the risk for suicide",
        "https://www.jointcommission.org/resources/patient-safety-topics/suicide-prevention/",
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
    "hhs-tapering": Link("HHS 2019 guide to tapering long-term opioids (JAMA summary)",
                         GUIDELINES["hhs-tapering-2019"].url),
    "findtreatment": Link("FindTreatment.gov (SAMHSA treatment locator)", "https://findtreatment.gov"),
    "no-waiver": Link("No waiver is needed to prescribe buprenorphine (SAMHSA)",
                      "https://www.samhsa.gov/medications-substance-use-disorders/waiver-elimination-mat-act"),
    "ed-buprenorphine": Link("ED-initiated buprenorphine vs referral (D'Onofrio, JAMA 2015)",
                             "https://pmc.ncbi.nlm.nih.gov/articles/PMC5442013"),
    "ed-oud-consensus": Link("ACEP consensus: managing OUD in the ED (Hawk, Ann Emerg Med 2021)",
                             "https://doi.org/10.1016/j.annemergmed.2021.04.023"),
    "overdose-moud": Link("MOUD after a nonfatal overdose and mortality (Larochelle, Ann Intern Med 2018)",
                          "https://doi.org/10.7326/M17-3107"),
    "overdose-mortality": Link("One-year mortality after a nonfatal opioid overdose in the ED (Weiner, "
                               "Ann Emerg Med 2020)", "https://doi.org/10.1016/j.annemergmed.2019.04.020"),
    "pregnancy": Link("ACOG Committee Opinion 711: opioid use and OUD in pregnancy",
                      "https://www.acog.org/clinical/clinical-guidance/committee-opinion/articles/2017/08/opioid-use-and-opioid-use-disorder-in-pregnancy"),
    "adolescents": Link("AAP 2016: medication-assisted treatment of adolescents with OUD",
                        "https://publications.aap.org/pediatrics/article/138/3/e20161893/52715/Medication-Assisted-Treatment-of-Adolescents-With"),
    "benzodiazepines": Link("FDA 2017: do not withhold MOUD from patients taking benzodiazepines "
                            "(Drug Safety Podcast)",
                            "https://www.fda.gov/drugs/drug-safety-podcasts/fda-drug-safety-podcast-fda-urges-caution-about-withholding-opioid-addiction-medications-patients"),
    "benzodiazepine-taper": Link("FDA 2020: benzodiazepine boxed warning (taper, never stop abruptly)",
                                 "https://www.fda.gov/drugs/drug-safety-and-availability/fda-requiring-boxed-warning-updated-improve-safe-use-benzodiazepine-drug-class"),
    "seven-oh": Link("FDA 2025: steps to restrict concentrated 7-OH opioid products",
                     "https://www.fda.gov/news-events/press-announcements/fda-takes-steps-restrict-7-oh-opioid-products-threatening-american-consumers"),
    "high-potency-opioids": Link("ASAM 2023: buprenorphine starts with high-potency synthetic opioids (Weimer, "
                                 "J Addict Med)", "https://doi.org/10.1097/ADM.0000000000001202"),
    "low-dose-start": Link("Low-dose buprenorphine initiation (RCORP)",
                           "https://www.rcorp-ta.org/rcorp-corner/best-practice-of-the-month/low-dose-buprenorphine-initiation-what-where-why-how-and-whom"),
    "otc-naloxone": Link("Over-the-counter naloxone (SAMHSA FAQ)",
                         "https://www.samhsa.gov/medications-substance-use-disorders/medications-counseling-related-conditions/opioid-overdose-reversal-medications/over-the-counter-naloxone-faqs"),
    "stimulants": Link("SAMHSA: treatment of stimulant use disorders (PEP20-06-01-001; AHRQ page linking the guide)",
                       "https://integrationacademy.ahrq.gov/news-and-events/news/treatment-stimulant-use-disorders-samhsa-evidence-based-resource"),
    "methadone-in-hospital": Link("21 CFR 1306.07: methadone in hospital",
                                  "https://www.ecfr.gov/current/title-21/chapter-II/part-1306/section-1306.07"),
    "uspstf-adolescents": Link("USPSTF 2022: screening adolescents for depression and suicide risk",
                               "https://www.uspreventiveservicestaskforce.org/uspstf/recommendation/screening-depression-suicide-risk-children-adolescents"),
    "988": Link("988 Suicide & Crisis Lifeline", "https://988lifeline.org"),
}

# How each kind of evidence is introduced in a card's detail (a score follows where there is one).
EVIDENCE_LABELS: dict[str, str] = {
    "prescribed_opioid": "Opioid medication",
    "moud": "MOUD",
    "nonmedical_opioid_use": "Opioid use recorded",
    "withdrawal_suspected": "Withdrawal suspected",
    "stimulant_use": "Stimulant use",
    "xylazine": "Xylazine",
    "buprenorphine_bridge": "Buprenorphine prescription",
    "nonopioid_withdrawal": "Alcohol or sedative withdrawal",
    "gabapentinoid": "Gabapentinoid",
    "naloxone_take_home": "Naloxone",
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
    "phq9_item9": "PHQ-9 item 9",
    "suicide_attempt": "Suicide attempt",
    "fentanyl_or_methadone": "Fentanyl or methadone",
    "fentanyl_test": "Fentanyl test",
}
# An answer said in words: PHQ-9 item 9 by its LOINC answer list (phq-loinc.csv), "several days".
SCORE_WORDS: dict[str, dict[int, str]] = {
    "phq9_item9": {int(row["score"]): row["display"].lower() for row in vs.PHQ.rows if row.get("role") == "answer"},
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
