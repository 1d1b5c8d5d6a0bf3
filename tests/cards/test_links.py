"""Every link a card can carry was checked against its source, and the check is written down here.

A new or changed URL in cards/content.py fails these tests until a row below records where it was
verified (issue 19). Verification used stored copies of public pages and code (no live fetch); each note
says what was seen and where, so a reviewer can repeat it.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from cards import content

# URL -> where it was verified and what that showed.
SOURCES: dict[str, str] = {
    # Guidelines (a card's `source`).
    "https://www.cdc.gov/mmwr/volumes/71/rr/rr7103a1.htm":
        "clinical-content.md section 6 (VERIFIED; the CDC opioid CDS IG cites it); search docs: build.fhir.org "
        "opioid-cds-r4 RequestGroup example documents this URL",
    "https://doi.org/10.1097/ADM.0000000000000633":
        "clinical-content.md section 6 (ASAM NPG 2020 focused update, doi 10.1097/ADM.0000000000000633); search "
        "pages: guidelinecentral.com/guideline/7099 cites this DOI for the guideline. Replaces the unverified "
        "asam.org/quality-care/clinical-guidelines/... page (no stored copy; only cited in generated code)",
    "https://cabridge.org/tools/on-shift/":
        "clinical-content.md section 7 (verified page: CA Bridge on-shift tools)",
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC7145754":
        "search pages: pmc.ncbi.nlm.nih.gov/articles/PMC7145754 = Dowell, Compton, Giroir, 'Patient-Centered "
        "Reduction or Discontinuation of Long-term Opioid Analgesics: The HHS Guide for Clinicians', JAMA "
        "2019;322:1855 (doi 10.1001/jama.2019.16409). Replaces the hhs.gov PDF path, found nowhere",
    "https://library.samhsa.gov/sites/default/files/overdose-prevention-response-kit-pep23-03-00-001.pdf":
        "find_string: this exact PDF URL in 5 unrelated public repositories (a reference list, two "
        "document-ingest source tables that download it, a citation note); search pages: drugsandalcohol.ie/44188 "
        "holds the toolkit, PEP23-03-00-001. Replaces the product page path with 'and-response', found nowhere",
    "https://www.uspreventiveservicestaskforce.org/uspstf/recommendation/screening-depression-suicide-risk-adults":
        "search pages: origin.health.gov (Healthy People) 'Depression and Suicide Risk in Adults: Screening' "
        "cites this exact URL; the USPSTF final statement of 2023-06-20 is stored under the same slug; "
        "find_string: 10 public repositories cite it",
    "https://www.jointcommission.org/resources/patient-safety-topics/suicide-prevention/":
        "search pages: stored at this address, 'National Patient Safety Goal on Suicide Prevention in Healthcare "
        "Settings' (NPSG 15.01.01, effective 2019-07-01)",
    # Links.
    "https://nida.nih.gov/sites/default/files/ClinicalOpiateWithdrawalScale.pdf":
        "find_string: this exact URL in 5 public repositories naming it the NIDA COWS form (Wesson & Ling 2003)",
    "https://dig.pharmacy.uic.edu/faqs/2023-2/august-2023-faqs/what-data-exists-on-the-use-of-buprenorphine-and-"
    "buprenorphine-naloxone-for-the-treatment-of-kratom-withdrawal":
        "search pages: stored at this address, UIC Drug Information Group FAQ on buprenorphine for kratom withdrawal",
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC4782928/table/T1":
        "clinical-content.md section 7 (verified journal copy: DSM-5 OUD criteria applied to pain patients)",
    "https://findtreatment.gov":
        "clinical-content.md section 7; search pages: oig.hhs.gov audit 'SAMHSA's FindTreatment.gov' and the "
        "2019 HHS launch statement name FindTreatment.gov as SAMHSA's locator",
    "https://www.samhsa.gov/medications-substance-use-disorders/waiver-elimination-mat-act":
        "clinical-content.md sections 6 and 7 (VERIFIED)",
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC5442013":
        "clinical-content.md section 7 (verified: D'Onofrio, JAMA 2015)",
    "https://doi.org/10.1016/j.annemergmed.2021.04.023":
        "DOI registered to Ann Emerg Med: search pages staging.scite.ai report 'Consensus Recommendations on the "
        "Treatment of Opioid Use Disorder in the Emergency Department' shows this DOI (Hawk et al., ACEP); "
        "find_string: cited with it in 3 public files",
    "https://doi.org/10.7326/M17-3107":
        "DOI registered to Ann Intern Med: search pages acpjournals.org/doi/10.7326/M17-3107 (Larochelle, 169(3)) and "
        "PubMed 29913516 'Ann Intern Med. 2018;169(3):137-145. doi: 10.7326/M17-3107'",
    "https://doi.org/10.1016/j.annemergmed.2019.04.020":
        "DOI registered to Ann Emerg Med: search pages pubmed.ncbi.nlm.nih.gov/31229387 'Ann Emerg Med. "
        "2020;75(1):13-17. doi: 10.1016/j.annemergmed.2019.04.020' (Weiner et al.)",
    "https://www.acog.org/clinical/clinical-guidance/committee-opinion/articles/2017/08/"
    "opioid-use-and-opioid-use-disorder-in-pregnancy":
        "search pages: the ACOG page at this address (stored behind a mail safelink) 'Committee Opinion Number 711, "
        "August 2017, reaffirmed 2021'; PubMed 28742676 (doi 10.1097/AOG.0000000000002235)",
    "https://publications.aap.org/pediatrics/article/138/3/e20161893/52715/"
    "Medication-Assisted-Treatment-of-Adolescents-With":
        "search pages: stored at this address (query string dropped), the AAP policy statement Pediatrics "
        "2016;138(3):e20161893. Replaces doi 10.1542/peds.2016-1893, seen in no stored page or file",
    "https://www.fda.gov/drugs/drug-safety-podcasts/fda-drug-safety-podcast-fda-urges-caution-about-withholding-"
    "opioid-addiction-medications-patients":
        "search pages: stored at this address, FDA Drug Safety Podcast on the 2017-09-20 Drug Safety Communication "
        "(do not withhold buprenorphine or methadone from patients taking benzodiazepines). Replaces the old "
        "ucm575307 page and an unverified drug-safety-and-availability slug",
    "https://www.fda.gov/drugs/drug-safety-and-availability/fda-requiring-boxed-warning-updated-improve-safe-use-"
    "benzodiazepine-drug-class":
        "find_string: this exact URL in 9 public repositories as the FDA 2020 benzodiazepine Drug Safety "
        "Communication; search pages: FDA's podcast of it stored under the same slug (2020-09-23)",
    "https://www.fda.gov/news-events/press-announcements/fda-takes-steps-restrict-7-oh-opioid-products-threatening-"
    "american-consumers":
        "find_string: this exact URL in 3 public repositories titled 'FDA Takes Steps to Restrict 7-OH Opioid "
        "Products Threatening American Consumers'; search pages: HealthDay and drugs.com report it on 2025-07-29",
    "https://doi.org/10.1097/ADM.0000000000001202":
        "DOI registered to J Addict Med: search pages journals.lww.com (ASAM Clinical Considerations ... High-potency "
        "Synthetic Opioids, Weimer et al.) 'DOI: 10.1097/ADM.0000000000001202'; ouci.dntb.gov.ua: 2023, No 6, "
        "p. 632-639",
    "https://www.rcorp-ta.org/rcorp-corner/best-practice-of-the-month/low-dose-buprenorphine-initiation-what-"
    "where-why-how-and-whom":
        "clinical-content.md section 7 (verified page: RCORP low-dose initiation)",
    "https://www.samhsa.gov/medications-substance-use-disorders/medications-counseling-related-conditions/"
    "opioid-overdose-reversal-medications/over-the-counter-naloxone-faqs":
        "clinical-content.md section 7 (verified page: SAMHSA OTC naloxone FAQ)",
    "https://integrationacademy.ahrq.gov/news-and-events/news/treatment-stimulant-use-disorders-samhsa-evidence-"
    "based-resource":
        "search pages: stored at this address, AHRQ 'Treatment of Stimulant Use Disorders: A SAMHSA Evidence-Based "
        "Resource' announcing and linking the guide (PEP20-06-01-001). No stored page or file has a SAMHSA URL "
        "for PEP20-06-01-001, so the guessed library.samhsa.gov path was dropped",
    "https://www.ecfr.gov/current/title-21/chapter-II/part-1306/section-1306.07":
        "find_string: this exact URL in a public repository as '21 CFR 1306.07', and the same eCFR form for "
        "1306.04/.11/.22 in 9 more; search pages: lexfed.com gives the current 1306.07 text ((b) three-day rule, "
        "(c) hospital). Replaces a path with a guessed subject-group id, found nowhere",
    "https://www.uspreventiveservicestaskforce.org/uspstf/recommendation/screening-depression-suicide-risk-children-"
    "adolescents":
        "search pages: the USPSTF final statement of 2022-10-11 stored at "
        "uspreventiveservicestaskforce.org/uspstf/index.php/recommendation/<this slug>; find_string: 5 public "
        "repositories cite this exact URL",
    "https://988lifeline.org":
        "clinical-content.md section 7; search pages: preventionpartnersnm.org and mcphs.edu point to 988lifeline.org "
        "for the 988 Suicide & Crisis Lifeline",
}

# Every URL form this project accepts as 'where it was verified': the review can follow each.
EVIDENCE_KINDS = ("clinical-content.md", "search pages", "search docs", "find_string", "DOI registered to")

CONTENT_SOURCE = Path(content.__file__).read_text()


def content_urls() -> set[str]:
    return {link.url for link in (*content.GUIDELINES.values(), *content.LINKS.values())}


def test_every_url_in_content_has_a_recorded_source():
    urls = content_urls()
    assert urls - SOURCES.keys() == set(), "a link without a recorded source: verify it and add a row"
    assert SOURCES.keys() - urls == set(), "a recorded source no card links to any more: drop its row"


def test_no_url_is_written_into_content_outside_the_links():
    # A URL pasted into wording (a note, a detail) escapes the Link tables; it must still be recorded.
    written = set(re.findall(r"https?://[^\s\"')]+", CONTENT_SOURCE))
    assert written - SOURCES.keys() == set()


def test_no_retired_fda_ucm_path():
    assert [url for url in content_urls() if "/ucm" in url.lower()] == []


def test_every_url_is_https_with_a_host():
    # All have an https form; none needs an exception.
    for url in content_urls():
        parts = urlsplit(url)
        assert (parts.scheme, bool(parts.netloc)) == ("https", True), url
        assert " " not in url and not parts.fragment, url


def test_every_source_note_names_where_it_was_verified():
    for url, note in SOURCES.items():
        assert any(kind in note for kind in EVIDENCE_KINDS), url
