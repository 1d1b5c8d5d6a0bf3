"""The analyte table: which drug a urine test detects, an overdose names or a product contains, and
which products explain which results (design section 4.1). Every code below is read from the
value sets under cards/valuesets/ (a test asserts it is there before it is used)."""

from __future__ import annotations

import pytest

from cards import analytes as an
from cards import valuesets as vs

LOINC, RXNORM, SNOMED, ICD = vs.LOINC, vs.RXNORM, vs.SNOMED, vs.ICD10CM

# Products (RxNorm, from opioid-product-analytes.csv) by the analyte each produces.
PRODUCTS = {
    "fentanyl": "245134",        # 72 HR fentanyl 0.025 MG/HR Transdermal System
    "sufentanil": "1809097",     # 1 ML sufentanil 0.05 MG/ML Injection (fentanyl-type)
    "morphine": "892582",        # morphine sulfate 15 MG Oral Tablet
    "codeine": "997287",         # codeine sulfate 30 MG Oral Tablet
    "oxycodone": "1049221",      # acetaminophen 325 MG / oxycodone hydrochloride 5 MG Oral Tablet
    "oxymorphone": "977939",     # oxymorphone hydrochloride 5 MG Oral Tablet
    "hydrocodone": "856903",     # acetaminophen 500 MG / hydrocodone bitartrate 5 MG Oral Tablet
    "hydromorphone": "897696",   # hydromorphone hydrochloride 2 MG Oral Tablet
    "tramadol": "835603",        # tramadol hydrochloride 50 MG Oral Tablet
    "tapentadol": "825411",      # tapentadol 50 MG Oral Tablet
    "meperidine": "861467",      # meperidine hydrochloride 50 MG Oral Tablet
    "buprenorphine": "351265",   # buprenorphine 8 MG Sublingual Tablet
    "methadone": "864706",       # methadone hydrochloride 10 MG Oral Tablet
    "opium": "830196",           # opium tincture 100 MG/ML Oral Solution
    "heroin": "250473",          # heroin 10 MG Oral Tablet (in the IG's opioid analgesic sets)
    "unknown": "2539186",        # VSAC 1032.34 code no source names: an opioid of unknown ingredient
}
# Tests (LOINC, from opioid-urine-tests.csv) by the analyte each detects.
TESTS = {
    "fentanyl": "59673-4",       # fentaNYL [Presence] in Urine by Screen method
    "heroin": "19321-9",         # 6MAM Ur Ql Scn
    "xylazine": "101809-2",      # Xylazine [Presence] in Urine by Confirmatory method
    "oxycodone": "19642-8",      # oxyCODONE Ur Ql Scn
    "oxymorphone": "19646-9",    # oxyMORphone [Presence] in Urine by Screen method
    "morphine": "3830-7",        # Morphine [Presence] in Urine
    "codeine": "3507-1",         # Codeine [Presence] in Urine
    "hydrocodone": "12308-3",    # HYDROcodone [Presence] in Urine
    "hydromorphone": "9834-3",   # HYDROmorphone [Presence] in Urine
    "opiate": "19295-5",         # Opiates [Presence] in Urine by Screen method
    "tapentadol": "58401-1",     # Tapentadol [Presence] in Urine by Confirmatory method
    "meperidine": "27920-8",     # Normeperidine [Presence] in Urine
    "opioid": "12554-2",         # Narcotics and opioids [Identifier] in Urine (unplaced)
}


def product(name: str) -> frozenset[str]:
    return an.product_analytes((RXNORM, PRODUCTS[name]))


def analyte_of_test(name: str) -> str | None:
    return an.test_analyte((LOINC, TESTS[name]))


def test_the_fixture_codes_are_in_the_value_sets():
    assert all((RXNORM, code) in vs.OPIOID_MEDICATIONS for name, code in PRODUCTS.items())
    tests = vs.load("opioid-urine-tests")
    assert all((LOINC, code) in tests for code in TESTS.values())
    assert {name: analyte_of_test(name) for name in TESTS} == {name: name for name in TESTS}


# --- one row of the table each: explained by every listed product, not by an unlisted one ---------

@pytest.mark.parametrize("test, explained_by, not_explained_by", [
    ("fentanyl", ["fentanyl", "sufentanil"], ["morphine", "oxycodone", "tramadol", "methadone", "unknown"]),
    ("heroin", [], list(PRODUCTS)),
    ("xylazine", [], list(PRODUCTS)),
    ("oxycodone", ["oxycodone", "oxymorphone"], ["hydrocodone", "morphine", "codeine", "fentanyl"]),
    ("oxymorphone", ["oxycodone", "oxymorphone"], ["hydromorphone", "morphine"]),
    ("morphine", ["morphine", "codeine", "opium"], ["oxycodone", "hydromorphone", "hydrocodone", "buprenorphine",
                                                    "heroin", "unknown"]),
    ("codeine", ["codeine", "opium"], ["morphine", "hydrocodone", "oxycodone"]),
    ("hydrocodone", ["hydrocodone"], ["hydromorphone", "codeine", "oxycodone"]),
    ("hydromorphone", ["hydromorphone", "hydrocodone", "morphine"], ["codeine", "oxycodone", "oxymorphone"]),
    ("opiate", ["morphine", "codeine", "hydrocodone", "hydromorphone", "oxycodone", "oxymorphone"],
     ["fentanyl", "tramadol", "tapentadol", "meperidine", "buprenorphine", "methadone", "unknown"]),
    ("tapentadol", ["tapentadol"], ["tramadol", "fentanyl", "morphine"]),
    ("meperidine", ["meperidine"], ["fentanyl", "tramadol", "morphine"]),
    ("opioid", ["oxycodone", "tramadol", "fentanyl", "unknown"], ["buprenorphine", "methadone"]),
])
def test_each_row_of_the_table(test, explained_by, not_explained_by):
    analyte = analyte_of_test(test)
    for name in explained_by:
        assert an.explains(analyte, product(name)), (test, name)
    for name in not_explained_by:
        assert not an.explains(analyte, product(name)), (test, name)


def test_a_named_opioid_test_read_from_text_is_explained_by_that_opioid():
    assert an.test_analyte_from_text("Tramadol, urine screen") == "tramadol"
    assert an.explains("tramadol", product("tramadol"))
    assert not an.explains("tramadol", product("tapentadol"))


def test_buprenorphine_and_methadone_explain_no_other_analyte():
    every_analyte = set(an.TEST_ANALYTES.values()) | {"synthetic opioid", "opium"}
    for name in ("buprenorphine", "methadone"):
        assert not any(an.explains(analyte, product(name)) for analyte in every_analyte), name
        assert an.explains(name, product(name))  # its own overdose (T40.3X for methadone)


def test_heroin_and_xylazine_are_never_explained():
    everything = frozenset().union(*an.PRODUCT_ANALYTES.values())
    assert not an.explains("heroin", everything) and not an.explains("xylazine", everything)


def test_explaining_analytes_picks_the_products_that_explain():
    on_record = ["oxycodone", "codeine", "buprenorphine", "methadone", "tramadol"]
    assert an.explaining_analytes("morphine", on_record) == {"codeine"}
    assert an.explaining_analytes("opiate", on_record) == {"oxycodone", "codeine"}
    assert an.explaining_analytes("opioid", on_record) == {"oxycodone", "codeine", "tramadol"}
    assert an.explaining_analytes("heroin", on_record) == frozenset()


def test_a_product_of_several_analytes_explains_each():
    both = product("oxycodone") | product("buprenorphine")
    assert an.explains("oxycodone", both) and not an.explains("morphine", both)


# --- which tests are here, and the ones the table cannot place ----------------------------------

def test_tests_the_table_cannot_place_are_listed():
    assert an.unplaced_tests() == [
        ((LOINC, "93474-5"), "Synthetic opioids panel - Urine by Confirmatory method"),
        ((LOINC, "12554-2"), "Narcotics and opioids [Identifier] in Urine"),
    ]


@pytest.mark.parametrize("code", [
    "58359-1",   # Buprenorphine+Nor Ur Ql Scn (MOUD)
    "70149-0",   # Methadone [Presence] in Urine by Screen method >300 ng/mL (MOUD)
    "73995-3",   # Mitragynine [Presence] in Urine by Confirmatory method (kratom)
    "12309-1",   # Naltrexone [Presence] in Urine (antagonist)
    "78862-0",   # Naloxol [Mass/volume] in Urine by Confirmatory method (naloxone metabolite)
    "79377-8",   # Naltrexol [Mass/volume] in Urine by Confirmatory method (naltrexone metabolite)
    "19323-5",   # 6MAM CtO Ur Scn-mCnc (a cutoff, not a result)
])
def test_tests_this_table_leaves_out(code):
    assert an.test_analyte((LOINC, code)) is None


def test_the_ig_fentanyl_set_s_tapentadol_tests_are_tapentadol():
    # The IG's fentanyl-type test set holds nortapentadol tests: a display naming a drug decides.
    assert an.test_analyte((LOINC, "89306-5")) == "tapentadol"  # Nortapentadol [Presence] ... Screen method
    assert not an.explains("tapentadol", product("fentanyl"))


@pytest.mark.parametrize("code, analyte", [
    ("93470-3", "fentanyl"),       # Furanylfentanyl [Mass/volume] in Urine by Confirmatory method
    ("11075-9", "fentanyl"),       # Norfentanyl [Mass/volume] in Urine
    ("18435-8", "fentanyl"),       # SUFentanil [Presence] in Urine
    ("3546-9", "heroin"),          # Diamorphine [Presence] in Urine
    ("60514-7", "heroin"),         # 6-Acetylcodeine [Mass/volume] in Urine by Confirmatory method
    ("61424-8", "oxycodone"),      # Noroxycodone [Presence] in Urine by Confirmatory method
    ("58430-0", "oxycodone"),      # oxyCODONE+oxyMORphone Ur Ql Scn
    ("89302-4", "oxymorphone"),    # Noroxymorphone Ur Ql Scn
    ("49831-1", "morphine"),       # Normorphine [Mass/volume] in Urine
    ("89310-7", "codeine"),        # Codeine-6-glucuronide [Presence] in Urine by Screen method
    ("61421-4", "hydrocodone"),    # Norhydrocodone [Presence] in Urine by Confirmatory method
    ("89309-9", "hydromorphone"),  # Hydromorphone-3-glucuronide [Presence] in Urine by Screen method
    ("74817-8", "desomorphine"),   # Desomorphine [Mass/volume] in Urine by Confirmatory method
    ("19433-2", "propoxyphene"),   # Propoxyphene + Norpropoxyphene [Presence] in Urine by Screen method
    ("3879-4", "opiate"),          # Opiates [Presence] in Urine
])
def test_tests_by_the_drug_their_display_names(code, analyte):
    assert an.test_analyte((LOINC, code)) == analyte


# --- overdoses ---------------------------------------------------------------------------------

@pytest.mark.parametrize("code, expected", [
    ("T40.1X1A", ("heroin", "accidental")), ("T40.411A", ("fentanyl", "accidental")),
    ("T40.412D", ("fentanyl", "intentional")), ("T40.421A", ("tramadol", "accidental")),
    ("T40.491A", ("synthetic opioid", "accidental")), ("T40.4X4S", ("synthetic opioid", "undetermined")),
    ("T40.2X3A", ("opiate", "assault")), ("T40.3X1A", ("methadone", "accidental")),
    ("T40.0X1A", ("opium", "accidental")), ("T40.601A", ("opioid", "accidental")),
    ("T40.691A", ("opioid", "accidental")), ("T65.841A", ("xylazine", "accidental")),
    ("T65.842D", ("xylazine", "intentional")), ("T65.843S", ("xylazine", "assault")),
    ("T65.844A", ("xylazine", "undetermined")), ("T65844A", ("xylazine", "undetermined")),
    ("T40.411", ("fentanyl", "accidental")),  # no 7th character: still names the drug and the intent
    ("T40.2X5A", None), ("T40.2X6A", None), ("T65.845A", None), ("T65.84", None), ("T65.891A", None),
    ("T40.5X1A", None), ("T40.41", None), ("T39.1X1A", None), ("T40.411X", None),
])
def test_icd_overdose_codes_by_pattern(code, expected):
    assert an.overdose_analyte(vs.normalize(ICD, code)) == expected


@pytest.mark.parametrize("code, expected", [
    ("295174006", ("heroin", "undetermined")),      # Heroin overdose (disorder)
    ("290202004", ("fentanyl", "accidental")),      # Accidental fentanyl poisoning (disorder)
    ("295189002", ("fentanyl", "undetermined")),    # Alfentanil overdose (disorder)
    ("242831003", ("methadone", "intentional")),    # Intentional methadone overdose (disorder)
    ("295148000", ("opioid", "undetermined")),      # Methadone analog overdose (disorder)
    ("216467006", ("meperidine", "accidental")),    # Accidental poisoning caused by pethidine (disorder)
    ("242253008", ("opioid", "undetermined")),      # Overdose of opiate (disorder)
    ("47836003", ("morphine", "undetermined")),     # Poisoning caused by morphine (disorder)
])
def test_snomed_poisoning_concepts(code, expected):
    assert (SNOMED, code) in vs.OPIOID_POISONING
    assert an.overdose_analyte((SNOMED, code)) == expected


def test_overdose_families_and_what_explains_them():
    def explained(code, name):
        analyte, _ = an.overdose_analyte(vs.normalize(ICD, code))
        return an.explains(analyte, product(name))

    assert not any(explained("T40.1X1A", name) for name in PRODUCTS)     # heroin: never
    assert not any(explained("T65.841A", name) for name in PRODUCTS)     # xylazine: never
    assert explained("T40.411A", "fentanyl") and explained("T40.411A", "sufentanil")
    assert not explained("T40.411A", "morphine") and not explained("T40.411A", "tramadol")
    assert explained("T40.421A", "tramadol") and not explained("T40.421A", "tapentadol")
    for code in ("T40.491A", "T40.4X1A"):
        assert all(explained(code, name) for name in ("fentanyl", "tramadol", "tapentadol", "meperidine"))
        assert not any(explained(code, name) for name in ("morphine", "oxycodone", "methadone", "buprenorphine"))
    assert explained("T40.2X1A", "oxycodone") and not explained("T40.2X1A", "fentanyl")
    assert explained("T40.3X1A", "methadone") and not explained("T40.3X1A", "oxycodone")
    assert explained("T40.601A", "oxycodone") and not explained("T40.601A", "buprenorphine")


@pytest.mark.parametrize("text, expected", [
    ("Accidental fentanyl overdose", ("fentanyl", "accidental")),
    ("Heroin overdose, intentional", ("heroin", "intentional")),
    ("Xylazine toxicity after assault", ("xylazine", "assault")),
    ("Opioid overdose, unintentional", ("opioid", "accidental")),
    ("Overdose", ("opioid", "undetermined")),
    ("oxycodone overdose, suicide attempt", ("oxycodone", "intentional")),
])
def test_overdose_from_text(text, expected):
    assert an.overdose_analyte_from_text(text) == expected


# --- products ----------------------------------------------------------------------------------

def test_every_opioid_medication_the_rules_know_has_analytes():
    known = (vs.OPIOID_MEDICATIONS.keys | vs.MOUD_PRODUCTS.keys | vs.FENTANYL_MEDICATIONS.keys
             | vs.OXYCODONE_MEDICATIONS.keys | vs.METHADONE_MEDICATIONS.keys)
    missing = {key for key in known if not an.product_analytes(key)}
    assert missing == {(RXNORM, "637213")}  # extended-release naltrexone: a MOUD product, no opioid


@pytest.mark.parametrize("value_set, analyte", [
    (vs.FENTANYL_MEDICATIONS, "fentanyl"), (vs.OXYCODONE_MEDICATIONS, "oxycodone"),
    (vs.METHADONE_MEDICATIONS, "methadone"), (vs.BUPRENORPHINE_MOUD, "buprenorphine"),
])
def test_drug_specific_sets_produce_their_drug(value_set, analyte):
    assert all(analyte in an.product_analytes(key) for key in value_set.keys)


@pytest.mark.parametrize("code, analytes", [
    ("1010606", {"buprenorphine"}),        # buprenorphine 8 MG / naloxone 2 MG Sublingual Film [Suboxone]
    ("2001364", {"hydrocodone"}),          # acetaminophen 325 MG / benzhydrocodone 6.12 MG Oral Tablet [Apadaz]
    ("830196", {"opium", "morphine", "codeine"}),  # opium tincture 100 MG/ML Oral Solution
    ("7804", {"oxycodone"}),               # Oxycodone (ingredient, OMTK)
    ("1603495", {"fentanyl"}),             # 72 HR fentanyl 0.0375 MG/HR Transdermal System
    ("2392239", {"oliceridine"}),          # 1 ML oliceridine 1 MG/ML Injection [Olinvyk] (display: cumulus)
    ("2539186", {"opioid"}),               # no source names its ingredient
])
def test_product_analytes_by_code(code, analytes):
    assert an.product_analytes((RXNORM, code)) == frozenset(analytes)


def test_a_code_that_is_no_opioid_product_has_no_analytes():
    assert an.product_analytes((RXNORM, "141928")) == frozenset()  # alprazolam 0.5 MG Oral Tablet [Xanax]
    assert an.product_analytes((RXNORM, "637213")) == frozenset()  # naltrexone 380 MG Injection


@pytest.mark.parametrize("text, analytes", [
    ("morphine sulfate 15 MG", {"morphine"}),
    ("Percocet 5/325", {"oxycodone"}),
    ("NORCO 10-325 tab", {"hydrocodone"}),
    ("Suboxone 8-2 mg film", {"buprenorphine"}),
    ("fentanyl citrate 50 mcg IV", {"fentanyl"}),
    ("remifentanil infusion", {"fentanyl"}),
    ("acetaminophen-codeine 300-30", {"codeine"}),
    ("paregoric (opium) 2 mg/5 mL", {"opium", "morphine", "codeine"}),
    ("acetaminophen 325 MG", set()),
    ("naloxone 4 mg nasal spray", set()),
])
def test_product_analytes_from_text(text, analytes):
    assert an.product_analytes_from_text(text) == frozenset(analytes)


# --- tests read from text --------------------------------------------------------------------------

@pytest.mark.parametrize("text, analyte", [
    ("Hydromorphone, urine screen", "hydromorphone"),
    ("Fentanyl, urine screen", "fentanyl"),
    ("Norfentanyl (LC-MS/MS), urine", "fentanyl"),
    ("6-MAM confirmation", "heroin"),
    ("Xylazine, urine", "xylazine"),
    ("Oxycodone/oxymorphone screen", "oxycodone"),
    ("Opiates screen, urine", "opiate"),
    ("Opioid screen, urine", "opioid"),
    ("Buprenorphine, urine screen", None),
    ("Methadone metabolite urine screen", None),
    ("Naltrexone, urine", None),
    ("Urine drug screen", None),
    ("oxycodone 5 MG oral tablet", None),  # names a drug but no test
])
def test_test_analyte_from_text(text, analyte):
    assert an.test_analyte_from_text(text) == analyte


# --- a record's codings and text together --------------------------------------------------------

def test_codes_decide_and_text_is_the_fallback():
    local = ("http://hospital.example/codes", "UDS-7")
    assert an.test_analyte_of([local, (LOINC, TESTS["morphine"])], "Opiates screen") == "morphine"
    assert an.test_analyte_of([local], "Hydromorphone, urine screen") == "hydromorphone"
    assert an.test_analyte_of([local], "") is None
    oxycodone = (RXNORM, PRODUCTS["oxycodone"])
    assert an.product_analytes_of([oxycodone], "morphine sulfate 15 MG") == {"oxycodone"}
    assert an.product_analytes_of([local], "morphine sulfate 15 MG") == {"morphine"}
    assert an.product_analytes_of([(RXNORM, PRODUCTS["buprenorphine"]), oxycodone], "") == {
        "buprenorphine", "oxycodone"}
    assert an.overdose_analyte_of([local, (ICD, "T40.411A")], "heroin overdose") == ("fentanyl", "accidental")
    assert an.overdose_analyte_of([local], "heroin overdose") == ("heroin", "undetermined")
