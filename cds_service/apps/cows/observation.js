// The Observation a saved COWS becomes. The rules in cards/ recognise it by SNOMED 763699005 (or
// by the name in code.text) and read its score from valueInteger.
import {ITEMS, total} from "./scoring.js";

export const SNOMED = "http://snomed.info/sct";
// SNOMED CT 763699005 "Clinical Opiate Withdrawal Scale score (observable entity)", as in
// cards/valuesets/withdrawal-codes.csv (source cited there).
export const COWS_CODE = "763699005";
export const COWS_TEXT = "Clinical Opiate Withdrawal Scale (COWS) score";

/**
 * `scores`: item code -> anchor value, all 11 given. `performer`: a "Practitioner/id" or
 * "PractitionerRole/id" reference, or null. `identifier`: a urn:uuid made once per form, so that a
 * retried save can be made conditional on it (If-None-Exist) and never writes the score twice.
 */
export function cowsObservation({scores, patientId, performer, itemSystem, identifier, now}) {
  const observation = {
    resourceType: "Observation",
    identifier: [{system: "urn:ietf:rfc:3986", value: identifier}],
    status: "final",
    category: [{coding: [{system: "http://terminology.hl7.org/CodeSystem/observation-category",
                          code: "survey", display: "Survey"}]}],
    code: {coding: [{system: SNOMED, code: COWS_CODE, display: "Clinical Opiate Withdrawal Scale score"}],
           text: COWS_TEXT},
    subject: {reference: `Patient/${patientId}`},
    effectiveDateTime: now.toISOString(),
    valueInteger: total(scores),
    component: ITEMS.map((item) => ({
      code: {coding: [{system: itemSystem, code: item.code, display: item.name}], text: item.name},
      valueInteger: scores.get(item.code),
    })),
  };
  if (performer) {
    observation.performer = [{reference: performer}];
  }
  return observation;
}
