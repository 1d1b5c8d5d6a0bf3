"""Which value set, code rule or words earn which tag, per kind of resource: the tables a clinical
informaticist edits. A new value set is a constant in cards/valuesets/__init__.py, a row in a table
here and a finder in cards/evidence.py; records coded only locally are read by the *_text_tags
functions, whose words are in cards/terms.py.

The index (cards/record.py) reads these once per resource, so each table is turned into a dict
at import (``tags_by_code``, ``OBSERVATION_KEY_TAGS``) and each text classification is remembered
per string.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from cards import analytes, mentions, terms
from cards import valuesets as vs
from cards.fhir_read import Concept

# Medication codes a value set lists: for these the code decides, and the text is not read.
KNOWN_MEDICATIONS = (vs.OPIOID_MEDICATIONS.keys | vs.MOUD_PRODUCTS.keys | vs.NALOXONE_RESCUE.keys
                     | vs.BENZODIAZEPINES.keys)
# Listed codes the condition rules look up (the rules also read ICD-10-CM patterns).
RULED_CONDITIONS = vs.OUD_CURRENT.keys | vs.OUD_HISTORY.keys | vs.OUD_CONDITIONS.keys | vs.OPIOID_POISONING.keys


def _raw_key_tags(tagged_sets: dict[str, frozenset[vs.Key]]) -> dict[tuple, frozenset[str]]:
    """Tags by the raw (system, code) pair, with OID and dotless-ICD spellings pre-expanded, so
    the hot path is one dict lookup per coding and never calls ``normalize``."""
    aliases: dict[str, list[str]] = defaultdict(list)
    for alias, system in vs.SYSTEM_ALIASES.items():
        aliases[system].append(alias)
    found: dict[tuple, set[str]] = defaultdict(set)
    for tag, keys in tagged_sets.items():
        for system, code in keys:
            codes = {code, code.replace(".", "")} if system == vs.ICD10CM else {code}
            for spelled_system in [system, *aliases[system]]:
                for spelled_code in codes:
                    found[(spelled_system, spelled_code)].add(tag)
    return {key: frozenset(tags) for key, tags in found.items()}


OBSERVATION_KEY_TAGS = _raw_key_tags({
    "cows": vs.COWS_OBSERVABLES.keys,
    "kratom_test": vs.MITRAGYNINE_TESTS.keys,
    "withdrawal": vs.WITHDRAWAL_CONDITIONS.keys,
    "withdrawal_opioid": vs.OPIOID_WITHDRAWAL.keys,
    "uds_stimulant": vs.STIMULANT_TESTS.keys,
    "end_of_life": vs.END_OF_LIFE.keys,
    "phq2": vs.PHQ2_TOTAL.keys,
    "phq9": vs.PHQ9_TOTAL.keys,
    "phq9_item9": vs.PHQ9_ITEM9.keys,
    # An opioid or xylazine urine test; its analyte is read when it counts (cards/analytes.py).
    "uds": frozenset(analytes.TEST_ANALYTES),
})


def mentions_kratom(*texts: str) -> bool:
    """Kratom named as the patient's own current use: not negated, past, someone else's, asked about
    or uncertain ("denies kratom", "used kratom 5 years ago", "Mother uses kratom"). The texts are
    read with the record's bound (concept, note_text, value_text)."""
    return any(mentions.affirmed(terms.KRATOM, text) for text in texts if text)


def withdrawal_tags(text: str) -> set[str]:
    """A withdrawal mention's tags: it names an opioid (or kratom) or it names no substance."""
    if terms.OPIOID_WORD.search(text) or terms.KRATOM.search(text):
        return {"withdrawal", "withdrawal_opioid"}
    return {"withdrawal"}


def says_withdrawal(text: str) -> bool:
    """Opioid, kratom or unspecified drug withdrawal, affirmed; not alcohol or nicotine withdrawal."""
    if not text or not mentions.affirmed(terms.WITHDRAWAL, text):
        return False
    return names_withdrawal_substance(text)


def suspects_withdrawal(text: str) -> bool:
    """Opioid (or unspecified drug) withdrawal mentioned as uncertain only ("r/o opioid withdrawal")."""
    return bool(text) and mentions.uncertain(terms.WITHDRAWAL, text) and names_withdrawal_substance(text)


def names_withdrawal_substance(text: str) -> bool:
    if terms.OPIOID_WORD.search(text) or terms.KRATOM.search(text):
        return True
    return bool(terms.GENERIC_SUBSTANCE.search(text)) and not terms.NON_OPIOID_SUBSTANCE.search(text)


def says_end_of_life(text: str) -> bool:
    return mentions.affirmed(terms.END_OF_LIFE, text)


def any_in(keys: Iterable[vs.Key], values: frozenset[vs.Key]) -> bool:
    return any(key in values for key in keys)


# Which value set earns which tag, per kind of resource: a clinical informaticist adding a value
# set edits a table, not a branch. Text fallbacks are in the *_text_tags functions below.
MEDICATION_CODE_TAGS = (("opioid", vs.OPIOID_MEDICATIONS), ("moud", vs.MOUD_PRODUCTS),
                        ("naloxone", vs.NALOXONE_RESCUE), ("naloxone_take_home", vs.NALOXONE_TAKE_HOME),
                        ("benzodiazepine", vs.BENZODIAZEPINES),
                        ("fentanyl_type", vs.FENTANYL_MEDICATIONS), ("oxycodone", vs.OXYCODONE_MEDICATIONS),
                        ("methadone", vs.METHADONE_MEDICATIONS), ("buprenorphine_moud", vs.BUPRENORPHINE_MOUD))
CONDITION_CODE_TAGS = (("withdrawal", vs.WITHDRAWAL_CONDITIONS), ("withdrawal_opioid", vs.OPIOID_WITHDRAWAL),
                       ("end_of_life", vs.END_OF_LIFE),
                       ("oud_history", vs.OUD_HISTORY), ("agonist_therapy", vs.AGONIST_THERAPY),
                       ("sud_any", vs.SUBSTANCE_USE_DISORDER), ("pregnancy", vs.PREGNANCY),
                       ("major_depression", vs.MAJOR_DEPRESSION), ("suicide_attempt", vs.SUICIDE_ATTEMPT))
# Codes read by a rule rather than listed (ICD-10-CM codes newer than an expansion, T40 overdoses).
CONDITION_CODE_RULES: tuple[tuple[str, Callable[[vs.Key], object]], ...] = (
    ("oud_current", vs.is_oud_current), ("oud_history", vs.is_oud_history), ("opioid_family", vs.is_opioid_family),
    ("opioid_overdose", analytes.overdose_analyte), ("other_substance_disorder", vs.is_other_substance_disorder),
    ("nonmedical_opioid_use", vs.is_nonmedical_opioid_use), ("stimulant_disorder", vs.is_stimulant_disorder),
    ("nonopioid_withdrawal", vs.is_alcohol_or_sedative_withdrawal),
)
ORDER_CODE_TAGS = (("cows_order", vs.COWS_OBSERVABLES), ("counseling", vs.COUNSELING),
                   ("end_of_life", vs.END_OF_LIFE))
# Ingredient-level codes name the drug by their display ("Fentanyl"): read it as text.
INGREDIENT_NAMES = {key: display for key, display in vs.OPIOID_INGREDIENTS.displays.items()}


def tags_by_code(table: tuple[tuple[str, vs.ValueSet], ...]) -> dict[vs.Key, frozenset[str]]:
    """The table turned inside out, once at import: a code's tags are one dict lookup, not a
    membership test per value set (a 10,000-resource chart has thousands of codings)."""
    index: dict[vs.Key, set[str]] = {}
    for tag, value_set in table:
        for key in value_set.keys:
            index.setdefault(key, set()).add(tag)
    return {key: frozenset(tags) for key, tags in index.items()}


MEDICATION_TAGS_BY_CODE = tags_by_code(MEDICATION_CODE_TAGS)
CONDITION_TAGS_BY_CODE = tags_by_code(CONDITION_CODE_TAGS)
ORDER_TAGS_BY_CODE = tags_by_code(ORDER_CODE_TAGS)
# The rules read only ICD-10-CM codes of these categories (or listed codes, which the rules
# themselves look up); every other code skips them.
_RULED_ICD_CATEGORIES = ("F10", "F11", "F13", "F14", "F15", "F19", *analytes.OVERDOSE_ICD_CATEGORIES)


def code_tags(keys: tuple[vs.Key, ...], index: dict[vs.Key, frozenset[str]]) -> set[str]:
    tags: set[str] = set()
    for key in keys:
        found = index.get(key)
        if found:
            tags |= found
    return tags


def condition_rule_tags(keys: tuple[vs.Key, ...]) -> set[str]:
    ruled = [key for key in keys if key in RULED_CONDITIONS
             or (key[0] == vs.ICD10CM and key[1].startswith(_RULED_ICD_CATEGORIES))]
    return {tag for tag, applies in CONDITION_CODE_RULES if any(applies(key) for key in ruled)} if ruled else set()


def medication_tags(medication: Concept) -> set[str]:
    """What a medication is. Known RxNorm codes decide; text decides only for local codes."""
    keys, text = medication.keys, medication.text
    if any_in(keys, KNOWN_MEDICATIONS):
        tags = code_tags(keys, MEDICATION_TAGS_BY_CODE)
    else:
        tags = set(medication_text_tags(text))
        for key in keys:
            if key in INGREDIENT_NAMES:
                tags |= {"opioid"} | medication_text_tags(INGREDIENT_NAMES[key])
    # A fentanyl-type or oxycodone product is an opioid even where no opioid set or OMTK ingredient
    # names it (remifentanil [Ultiva] is only in the IG's fentanyl-type set).
    return tags | {"opioid"} if tags & {"fentanyl_type", "oxycodone"} else tags


# Text classifications are remembered per string: a chart repeats the same few displays
# ("Hypertension", "Lisinopril 10 MG Oral Tablet") dozens of times, and each costs a
# handful of regex searches. Code lookups stay per resource; they are set membership.
@terms.remember_short_texts
def medication_text_tags(text: str) -> frozenset[str]:
    tags = set()
    if not text:
        return frozenset()
    if terms.OPIOID_DRUG.search(text):
        tags.add("opioid")
    if is_moud_text(text):
        tags.add("moud")
        if terms.BUPRENORPHINE.search(text):
            tags.add("buprenorphine_moud")
    if terms.NALOXONE.search(text) and not terms.NALOXONE_COMBINATION.search(text):
        tags.add("naloxone")
        if terms.TAKE_HOME_NALOXONE.search(text) and not terms.GIVEN_IN_CARE_FORM.search(text):
            tags.add("naloxone_take_home")
    if terms.NALMEFENE_SPRAY.search(text):
        tags |= {"naloxone", "naloxone_take_home"}
    if terms.GABAPENTINOID.search(text):
        tags.add("gabapentinoid")
    for tag, pattern in (("benzodiazepine", terms.BENZODIAZEPINE), ("fentanyl_type", terms.FENTANYL),
                         ("oxycodone", terms.OXYCODONE), ("methadone", terms.METHADONE)):
        if pattern.search(text):
            tags.add(tag)
    return frozenset(tags)


# Condition text, for local codes: each pattern earns its tag unless the mention is negated.
CONDITION_TEXT_TAGS = (
    ("kratom_disorder_text", terms.KRATOM_DISORDER), ("overdose_text", terms.OVERDOSE),
    ("suicide_attempt", terms.SUICIDE_ATTEMPT), ("pregnancy", terms.PREGNANT),
    ("major_depression", terms.MAJOR_DEPRESSION),
)


@terms.remember_short_texts
def condition_text_tags(text: str) -> frozenset[str]:
    tags = set()
    if not text:
        return frozenset()
    said = {mention.meaning for mention in mentions.mentions(terms.OUD_TEXT, text)}
    if said and not terms.OVERDOSE.search(text):
        # "Opioid use disorder, in remission" or "history of OUD": history; said as current: current.
        if "affirmed" in said:
            tags.add("oud_history" if terms.REMISSION.search(text) else "oud_current")
        elif "past" in said:
            tags.add("oud_history")
    if says_withdrawal(text):
        tags |= withdrawal_tags(text)
    elif suspects_withdrawal(text):
        tags.add("withdrawal_suspected")
    if mentions.affirmed(terms.ALCOHOL_SEDATIVE_WITHDRAWAL, text):
        tags.add("nonopioid_withdrawal")
    if mentions.affirmed(terms.OPIOID_INTOXICATION, text) and not terms.OVERDOSE.search(text):
        tags.add("nonmedical_opioid_use")
    if mentions_kratom(text):
        tags.add("kratom")
    if says_end_of_life(text):
        tags.add("end_of_life")
    tags.update(tag for tag, pattern in CONDITION_TEXT_TAGS if mentions.affirmed(pattern, text))
    if "overdose_text" in tags and terms.OPIOID_WORD.search(text):
        tags.add("opioid_overdose")
    return frozenset(tags)


@terms.remember_short_texts
def order_text_tags(text: str) -> frozenset[str]:
    """What a ServiceRequest or Procedure is, by its text: the orders a card's suggestion creates
    carry text only unless a site configures its orderable."""
    tags = set()
    if not text:
        return frozenset()
    if terms.COWS.search(text):
        tags.add("cows_order")
    if terms.REFERRAL.search(text) and terms.MOUD_WORDS.search(text):
        tags.add("moud_referral")
    if terms.COUNSELING_TEXT.search(text) and terms.SUBSTANCE_CONTEXT.search(text):
        tags.add("counseling")
    if terms.PHQ9.search(text):
        tags.add("phq9_order")
    if says_end_of_life(text):
        tags.add("end_of_life")
    return frozenset(tags)


@terms.remember_short_texts
def observation_text_tags(text: str) -> frozenset[str]:
    """What an Observation's code text says it is, for codes a site made up."""
    tags: set[str] = set()
    if terms.COWS.search(text):
        tags.add("cows")
    elif terms.SOWS.search(text):
        tags.add("sows")
    elif says_withdrawal(text):
        tags |= withdrawal_tags(text)
    elif suspects_withdrawal(text):
        tags.add("withdrawal_suspected")
    if terms.KRATOM.search(text):
        tags.add("kratom_code")
    if says_end_of_life(text):
        tags.add("end_of_life")
    if terms.PHQ9.search(text) and terms.TOTAL.search(text):
        tags.add("phq9")
    elif terms.PHQ2.search(text) and terms.TOTAL.search(text):
        tags.add("phq2")
    elif terms.ITEM9.search(text):
        tags.add("phq9_item9")
    if analytes.test_analyte_from_text(text) is not None:
        tags.add("uds")
    if terms.DRUG_TEST.search(text) and terms.STIMULANT_TESTED.search(text):
        tags.add("uds_stimulant")
    return frozenset(tags)


def is_moud_text(text: str) -> bool:
    if not text:
        return False
    if terms.MOUD_BRAND.search(text) or terms.METHADONE.search(text):
        return True
    if terms.NALTREXONE.search(text):
        return bool(terms.EXTENDED_RELEASE.search(text))
    if not terms.BUPRENORPHINE.search(text):
        return False
    if terms.EXTENDED_RELEASE.search(text):
        return True
    if terms.BUPRENORPHINE_PAIN.search(text):
        return False
    # Buccal buprenorphine alone is Belbuca (pain); with naloxone it is Bunavail (OUD).
    return not terms.BUPRENORPHINE_PAIN_BUCCAL.search(text) or "naloxone" in text.lower()
