// The form: who is being scored, the 11 items, the running total and band, and Save, which writes
// one Observation and nothing before it is pressed.
import {cowsObservation} from "./observation.js";
import {ITEMS, MAX_TOTAL, band, total, unscored} from "./scoring.js";
import {connect} from "./session.js";

const $ = (id) => document.getElementById(id);
const scores = new Map();
// One identifier per form: a Save retried after a lost answer is conditional on it (If-None-Exist).
let identifier = null;
let session = null;
let config = null;
let state = "scoring";  // scoring -> saving -> (scoring again after a failure) -> saved

async function main() {
  try {
    if (!window.isSecureContext) {
      throw new Error("The COWS form needs HTTPS (or localhost): browsers keep the cryptography a SMART " +
                      "launch uses for secure pages.");
    }
    identifier = `urn:uuid:${crypto.randomUUID()}`;
    config = await (await fetch("config.json")).json();
    session = await connect(config);
    showLaunch(session);
    showPatient(await readPatient(session));
  } catch (error) {
    $("loading").hidden = true;
    showProblem(error.message);
    return;
  }
  renderItems();
  $("cows").addEventListener("change", onScore);
  // Enter on a radio would submit the form: only the Save button saves.
  $("cows").addEventListener("submit", (event) => event.preventDefault());
  $("save").addEventListener("click", save);
  updateTotal();
  $("loading").hidden = true;
  $("cows").hidden = false;
}

function showLaunch({mode, iss, performer, appContext}) {
  const launch = $("launch");
  if (mode === "open") {
    launch.textContent = `Open launch: no sign-in. ${iss} is read and written without authorization, ` +
                         "as open test servers are. Use the EHR launch for real records.";
    launch.classList.add("open");
  } else {
    const who = performer ? ` as ${performer}` : "";
    const card = appContext ? `, opened from the ${appContext.topic} card` : "";
    launch.textContent = `EHR launch (SMART)${who}${card}.`;
  }
  launch.hidden = false;
}

async function readPatient({client, mode}) {
  try {
    return await client.patient.read();
  } catch (error) {
    if (mode === "open" && (error.status === 401 || error.status === 403)) {
      throw new Error("This FHIR server asks for authorization, so it is not an open server: open the " +
                      "COWS form from the card in your EHR (SMART launch).");
    }
    throw new Error(`The patient could not be read from the FHIR server, so the form stays closed: ${reasonOf(error)}.`);
  }
}

function showPatient(patient) {
  $("patient-name").textContent = nameOf(patient);
  const details = [ageOf(patient.birthDate), patient.birthDate && `born ${patient.birthDate}`, patient.gender]
    .filter(Boolean).join(", ");
  $("patient-details").textContent = details ? `(${details})` : "";
  $("patient").hidden = false;
}

function nameOf(patient) {
  const names = patient.name || [];
  const name = names.find((n) => n.use === "official") || names[0];
  if (!name) return `Patient/${patient.id} (no name on record)`;
  return name.text || [...(name.given || []), name.family].filter(Boolean).join(" ");
}

function ageOf(birthDate) {
  const today = new Date();
  const match = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(birthDate || "");
  if (!match) return "";
  const [year, month, day] = [Number(match[1]), Number(match[2] || 1), Number(match[3] || 1)];
  let years = today.getFullYear() - year;
  if (today.getMonth() + 1 < month || (today.getMonth() + 1 === month && today.getDate() < day)) years -= 1;
  return `${years} years`;
}

function renderItems() {
  const container = $("items");
  ITEMS.forEach((item, index) => {
    const fieldset = document.createElement("fieldset");
    fieldset.className = "item";
    fieldset.id = `item-${item.code}`;
    const legend = document.createElement("legend");
    legend.textContent = `${index + 1}. ${item.name}`;
    fieldset.append(legend);
    if (item.instruction) {
      const hint = document.createElement("p");
      hint.className = "hint";
      hint.id = `${item.code}-hint`;
      hint.textContent = item.instruction;
      fieldset.setAttribute("aria-describedby", hint.id);
      fieldset.append(hint);
    }
    for (const [value, text] of item.anchors) {
      const id = `${item.code}-${value}`;
      const input = Object.assign(document.createElement("input"),
                                  {type: "radio", name: item.code, id, value: String(value)});
      const label = document.createElement("label");
      label.htmlFor = id;
      const score = Object.assign(document.createElement("span"), {className: "score", textContent: String(value)});
      label.append(score, ` ${text}`);
      const row = Object.assign(document.createElement("div"), {className: "anchor"});
      row.append(input, label);
      fieldset.append(row);
    }
    container.append(fieldset);
  });
}

function onScore(event) {
  if (event.target.type !== "radio" || state === "saved") return;
  scores.set(event.target.name, Number(event.target.value));
  $("save-problem").hidden = true;
  updateTotal();
}

function updateTotal() {
  const sum = total(scores);
  const found = band(sum);
  const bandText = found ? `${found.name} withdrawal (${found.range})` : "below the mild band (under 5)";
  const left = unscored(scores).length;
  const progress = left ? `${ITEMS.length - left} of ${ITEMS.length} items scored` : "All items scored";
  $("total").textContent = `Total ${sum} of ${MAX_TOTAL}: ${bandText}. ${progress}.`;
  $("total").dataset.band = found ? found.name : "none";
}

async function save() {
  if (state !== "scoring") return;  // a second click while saving, or after saving, writes nothing
  const missing = unscored(scores);
  if (missing.length) {
    showProblem(`Score every item before saving: ${missing.map((item) => item.name).join(", ")} ` +
                `${missing.length === 1 ? "is" : "are"} not scored yet.`, "save-problem");
    document.querySelector(`input[name="${missing[0].code}"]`).focus();
    return;
  }
  setState("saving");
  const sum = total(scores);
  const observation = cowsObservation({scores, patientId: session.client.patient.id, performer: session.performer,
                                       itemSystem: config.itemSystem, identifier, now: new Date()});
  try {
    const created = await session.client.create(observation, {headers: {
      "If-None-Exist": `identifier=${encodeURIComponent("urn:ietf:rfc:3986")}|${encodeURIComponent(identifier)}`,
    }});
    setState("saved");
    const found = band(sum);
    const what = created && created.id ? ` as Observation/${created.id}` : "";
    showResult(`Saved: COWS ${sum}${found ? ` (${found.name})` : ""}${what} at ${new Date().toLocaleTimeString()}. ` +
               "The cards reflect it the next time the EHR asks for them.");
  } catch (error) {
    setState("scoring");
    showProblem(`Not saved: ${reasonOf(error)}. Your entries are kept: press Save to try again.`, "save-problem");
  }
}

function setState(next) {
  state = next;
  const button = $("save");
  // aria-disabled rather than disabled: a disabled button drops the keyboard focus.
  button.setAttribute("aria-disabled", String(next !== "scoring"));
  button.textContent = {scoring: "Save", saving: "Saving…", saved: "Saved"}[next];
  if (next === "saved") {
    for (const input of $("cows").querySelectorAll("input")) input.disabled = true;
  }
}

function showProblem(message, where = "problem") {
  const problem = $(where);
  problem.textContent = message;
  problem.hidden = false;
}

function showResult(message) {
  $("save-problem").hidden = true;
  const result = $("result");
  result.textContent = message;
  result.hidden = false;
  result.focus();
}

/** Why a FHIR call failed, in words: the status and the server's OperationOutcome, or no answer at all. */
function reasonOf(error) {
  if (!error.status) {
    return `the FHIR server could not be reached (${error.message})`;
  }
  // fhirclient's HttpError message: "<status> <text>\nURL: <url>\n\n<body>".
  const body = error.message.split("\n\n").slice(1).join("\n\n");
  let detail = "";
  try {
    detail = (JSON.parse(body).issue || []).map((i) => i.diagnostics || (i.details && i.details.text))
      .filter(Boolean).join("; ");
  } catch {
    detail = "";
  }
  const hint = {401: " (the sign-in has expired: open the form again from the EHR)",
                403: " (this sign-in may not write Observations for this patient)"}[error.status] || "";
  return `the FHIR server answered ${error.status} ${error.statusText || ""}`.trim() + hint + (detail ? `: ${detail}` : "");
}

main();
