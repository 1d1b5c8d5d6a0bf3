// The Clinical Opiate Withdrawal Scale (Wesson & Ling, J Psychoactive Drugs 2003;35(2):253-9):
// 11 items, each scored by the anchor that best describes the patient; total 0-48.
//
// Item names, instructions and anchors follow the NCBI table of the scale
// (https://www.ncbi.nlm.nih.gov/books/NBK64244/table/A72915/, SAMHSA TIP 45). Item 6 and item 11's
// anchors 3 and 5 were cut from the copy of that table we could read; they are as the VA's VistA
// COWS instrument (item 11) and other printed copies of the scale (item 6) give them, copies that
// agree word for word with the table on every item it shows.
// `code` is our local code for the item (the Observation component's code, under the site's
// configurable item system); it is not a national code: none exists for COWS items.

export const ITEMS = [
  {code: "resting-pulse-rate", name: "Resting pulse rate",
   instruction: "Beats per minute, measured after the patient is sitting or lying for one minute.",
   anchors: [[0, "Pulse rate 80 or below"], [1, "Pulse rate 81–100"], [2, "Pulse rate 101–120"],
             [4, "Pulse rate greater than 120"]]},
  {code: "sweating", name: "Sweating",
   instruction: "Over the past half hour, not accounted for by room temperature or patient activity.",
   anchors: [[0, "No reports of chills or flushing"], [1, "Subjective reports of chills or flushing"],
             [2, "Flushed or observable moisture on face"], [3, "Beads of sweat on brow or face"],
             [4, "Sweat streaming off face"]]},
  {code: "restlessness", name: "Restlessness", instruction: "Observation during assessment.",
   anchors: [[0, "Able to sit still"], [1, "Reports difficulty sitting still, but is able to do so"],
             [3, "Frequent shifting or extraneous movements of legs/arms"],
             [5, "Unable to sit still for more than a few seconds"]]},
  {code: "pupil-size", name: "Pupil size", instruction: "",
   anchors: [[0, "Pupils pinned or normal size for room light"], [1, "Pupils possibly larger than normal for room light"],
             [2, "Pupils moderately dilated"], [5, "Pupils so dilated that only the rim of the iris is visible"]]},
  {code: "bone-or-joint-aches", name: "Bone or joint aches",
   instruction: "If the patient was having pain previously, only the additional component attributed to " +
                "opiate withdrawal is scored.",
   anchors: [[0, "Not present"], [1, "Mild diffuse discomfort"],
             [2, "Patient reports severe diffuse aching of joints/muscles"],
             [4, "Patient is rubbing joints or muscles and is unable to sit still because of discomfort"]]},
  {code: "runny-nose-or-tearing", name: "Runny nose or tearing",
   instruction: "Not accounted for by cold symptoms or allergies.",
   anchors: [[0, "Not present"], [1, "Nasal stuffiness or unusually moist eyes"], [2, "Nose running or tearing"],
             [4, "Nose constantly running or tears streaming down cheeks"]]},
  {code: "gi-upset", name: "GI upset", instruction: "Over the last half hour.",
   anchors: [[0, "No GI symptoms"], [1, "Stomach cramps"], [2, "Nausea or loose stool"], [3, "Vomiting or diarrhea"],
             [5, "Multiple episodes of diarrhea or vomiting"]]},
  {code: "tremor", name: "Tremor", instruction: "Observation of outstretched hands.",
   anchors: [[0, "No tremor"], [1, "Tremor can be felt, but not observed"], [2, "Slight tremor observable"],
             [4, "Gross tremor or muscle twitching"]]},
  {code: "yawning", name: "Yawning", instruction: "Observation during assessment.",
   anchors: [[0, "No yawning"], [1, "Yawning once or twice during assessment"],
             [2, "Yawning three or more times during assessment"], [4, "Yawning several times/minute"]]},
  {code: "anxiety-or-irritability", name: "Anxiety or irritability", instruction: "",
   anchors: [[0, "None"], [1, "Patient reports increasing irritability or anxiousness"],
             [2, "Patient obviously irritable, anxious"],
             [4, "Patient so irritable or anxious that participation in the assessment is difficult"]]},
  {code: "gooseflesh-skin", name: "Gooseflesh skin", instruction: "",
   anchors: [[0, "Skin is smooth"], [3, "Piloerection of skin can be felt or hairs standing up on arms"],
             [5, "Prominent piloerection"]]},
];

export const MAX_TOTAL = ITEMS.reduce((sum, item) => sum + Math.max(...item.anchors.map(([v]) => v)), 0);

// The bands printed with the scale. Below 5 the scale names no band.
const BANDS = [
  {min: 37, name: "severe", range: "more than 36"},
  {min: 25, name: "moderately severe", range: "25–36"},
  {min: 13, name: "moderate", range: "13–24"},
  {min: 5, name: "mild", range: "5–12"},
];

/** The band of a total, or null below 5. */
export function band(total) {
  return BANDS.find((b) => total >= b.min) || null;
}

/** The sum of the scores given so far: `scores` maps item code to the chosen anchor's value. */
export function total(scores) {
  return ITEMS.reduce((sum, item) => sum + (scores.get(item.code) ?? 0), 0);
}

/** The items not scored yet, in form order. */
export function unscored(scores) {
  return ITEMS.filter((item) => !scores.has(item.code));
}
