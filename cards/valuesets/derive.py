"""Regenerate the curated value sets from the reference copies beside this file.

Run ``python -m cards.valuesets.derive`` after replacing a source CSV. The rules live here, and
each output CSV repeats its rule in its header, so a reviewer can check one against the other.
``tests/cards/test_valuesets.py`` fails if a curated file drifts from what this script derives.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"

# Buprenorphine dose forms used for opioid use disorder. Pain products are the transdermal system
# (BuTrans), buprenorphine-only buccal film (Belbuca) and injection/cartridge/injectable solution
# (Buprenex; Simbadol, veterinary); topical solution (Zorbium) is veterinary.
_BUP_OUD = re.compile(r"Sublingual|Drug Implant|Prefilled Syringe|naloxone .* Buccal Film", re.I)

# Extended-release naltrexone. No reference CSV lists it. Source: VSAC "Opiate Antagonists"
# 2.16.840.1.113883.3.464.1003.198.12.1132 (eCQM Update 2021-05-06) as listed in
# github.com/canvas-medical/canvas-plugins canvas_sdk/value_set/v2022/medication.py
# @ 272c6f4b622b28ce5ab2918c9d86fd1f3654679a (class OpiateAntagonists). 380 mg is the monthly
# extended-release intramuscular dose (Vivitrol); oral naltrexone 50 mg (1483744) is left out.
_NALTREXONE_ER = [
    (RXNORM, "637213", "naltrexone 380 MG Injection",
     "VSAC 2.16.840.1.113883.3.464.1003.198.12.1132 via canvas-medical/canvas-plugins@272c6f4b"),
]

_F19_SUBCODES = re.compile(r"^F19\.[129]3\d$")
_OPIOID_WITHDRAWAL = {"87132004", "703846009", "1264554000"}
_COWS_OBSERVABLE = "763699005"


def read_rows(name: str) -> list[dict[str, str]]:
    with open(HERE / name, newline="", encoding="utf-8") as handle:
        body = [line for line in handle if not line.startswith("#")]
    return list(csv.DictReader(body))


def render(header: list[str], columns: list[str], rows: list[tuple[str, ...]]) -> str:
    out = io.StringIO()
    for line in header:
        out.write(f"# {line}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def moud_products() -> str:
    seen: set[str] = set()
    rows: list[tuple[str, ...]] = []
    for source in ("buprenorphine-medications.csv", "buprenorphine-and-methadone-medications.csv"):
        for row in read_rows(source):
            display = row["display"]
            if row["code"] in seen or "buprenorphine" not in display.lower():
                continue
            if _BUP_OUD.search(display):
                seen.add(row["code"])
                rows.append((row["system"], row["code"], display, source))
    for source in ("methadone-medications.csv", "buprenorphine-and-methadone-medications.csv"):
        for row in read_rows(source):
            if row["code"] not in seen and "methadone" in row["display"].lower():
                seen.add(row["code"])
                rows.append((row["system"], row["code"], row["display"], source))
    rows.extend(_NALTREXONE_ER)
    header = [
        "MOUD products (medications for opioid use disorder); curated by cards/valuesets/derive.py",
        "derived from: buprenorphine-medications.csv and buprenorphine-and-methadone-medications.csv"
        " (cqframework/opioid-cds-r4 @ b29bdcbf), methadone-medications.csv (same commit)",
        "rule: buprenorphine rows whose display says Sublingual, Drug Implant, Prefilled Syringe"
        " (Sublocade, Brixadi) or naloxone Buccal Film (Bunavail); dropped Transdermal (BuTrans),"
        " buprenorphine-only Buccal Film (Belbuca), Injection/Cartridge/Injectable Solution"
        " (Buprenex, Simbadol) and Topical Solution (Zorbium); methadone: all rows",
        "added: extended-release naltrexone 637213, source in the basis column (VSAC Opiate"
        " Antagonists 2.16.840.1.113883.3.464.1003.198.12.1132); records coded only locally are"
        " matched by text (cards/terms.py)",
    ]
    return render(header, ["system", "code", "display", "basis"], rows)


def naloxone_rescue() -> str:
    rows = [
        (row["system"], row["code"], row["display"])
        for row in read_rows("naloxone-medications.csv")
        if "naloxone" in row["display"].lower()
        and not re.search(r"buprenorphine|pentazocine", row["display"], re.I)
    ]
    header = [
        "Naloxone rescue products; curated by cards/valuesets/derive.py",
        "derived from: naloxone-medications.csv (cqframework/opioid-cds-r4 @ b29bdcbf)",
        "rule: kept rows whose display names naloxone; dropped buprenorphine/naloxone (Suboxone,"
        " Zubsolv, Bunavail: MOUD, not rescue) and naloxone/pentazocine 312289 (an opioid analgesic)",
        "not added: AHRQ VSAC 2.16.840.1.113762.1.4.1032.42 codes absent from the IG file; the"
        " source has no displays, so they cannot be checked against these exclusions",
    ]
    return render(header, ["system", "code", "display"], rows)


def withdrawal_conditions() -> str:
    rows: list[tuple[str, ...]] = []
    for row in read_rows("withdrawal-codes.csv"):
        if row["code"] == _COWS_OBSERVABLE:
            continue
        opioid = row["code"].startswith("F11.") or row["code"] in _OPIOID_WITHDRAWAL
        rows.append((row["system"], row["code"], row["display"], "yes" if opioid else "no"))
    for row in read_rows("conditions-documenting-substance-misuse.csv"):
        if row["system"] == ICD10CM and _F19_SUBCODES.match(row["code"]):
            rows.append((row["system"], row["code"], row["display"], "no"))
    header = [
        "Withdrawal conditions; curated by cards/valuesets/derive.py",
        "derived from: withdrawal-codes.csv (sources in its header) and, for the F19.x3x"
        " subcodes its found_in column names, conditions-documenting-substance-misuse.csv"
        " (cqframework/opioid-cds-r4 @ b29bdcbf)",
        "rule: every withdrawal-codes.csv row except 763699005 (the COWS score, an observable,"
        " not a condition); opioid=yes marks opioid withdrawal, which also counts as OUD evidence",
    ]
    return render(header, ["system", "code", "display", "opioid"], rows)


CURATED = {
    "moud-products.csv": moud_products,
    "naloxone-rescue.csv": naloxone_rescue,
    "withdrawal-conditions.csv": withdrawal_conditions,
}


def main() -> None:
    for name, build in CURATED.items():
        (HERE / name).write_text(build(), encoding="utf-8")
        print(f"wrote {name}")


if __name__ == "__main__":
    main()
