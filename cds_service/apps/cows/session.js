// How the form was launched, and the FHIR client it reads and writes with. `FHIR` is the SMART
// JavaScript client (fhirclient), loaded by index.html from vendor/.
//
// EHR launch (SMART App Launch): launch.html asked the EHR's authorization server for a code, with
// PKCE; the EHR sent the browser back here with code and state, and FHIR.oauth2.ready() trades the
// code and the PKCE verifier for an access token that names the patient.
// Open launch: ?iss=<FHIR base>&patient=<id>, for open test servers (the CDS Hooks Sandbox's):
// nothing is authorized, the server is read and written as it is. The service allows it only
// while it runs open itself (config.json's openLaunch).

export class LaunchError extends Error {}

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export async function connect(config, search = location.search) {
  const params = new URLSearchParams(search);
  if (params.has("iss") && params.has("patient") && !params.has("launch")) {
    if (!config.openLaunch) {
      throw new LaunchError("Open launch is turned off on this service. Open the COWS form from the card in your EHR.");
    }
    const [iss, patient] = [params.get("iss"), params.get("patient")];
    if (!/^https?:\/\/[^/]/.test(iss)) {
      throw new LaunchError("The iss parameter is not an http(s) FHIR server address.");
    }
    // A FHIR id, so that it names one Patient and no other path on the server.
    if (!FHIR_ID.test(patient)) {
      throw new LaunchError("The patient parameter is not a FHIR resource id.");
    }
    return {mode: "open", iss, client: FHIR.client({serverUrl: iss, tokenResponse: {patient}}),
            performer: null, appContext: null};
  }
  let client;
  try {
    client = await FHIR.oauth2.ready();
  } catch (error) {
    throw new LaunchError("This form opens from a card in the EHR (SMART launch), or on an open FHIR server " +
                          `with ?iss=…&patient=…. The launch did not complete: ${error.message}`);
  }
  const token = client.state.tokenResponse || {};
  if (!token.patient) {
    throw new LaunchError("The EHR's sign-in named no patient, so there is no one to score.");
  }
  return {mode: "ehr", iss: client.state.serverUrl, client, performer: performerOf(token.id_token),
          appContext: appContextOf(token.appContext)};
}

/** The practitioner who launched the form, from the id_token's fhirUser claim (OpenID Connect), if any. */
export function performerOf(idToken) {
  let claims;
  try {
    // base64url, which window.atob does not take as it is.
    const payload = idToken.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    claims = JSON.parse(atob(payload));
  } catch {
    return null;
  }
  const user = claims.fhirUser || claims.profile;
  // fhirUser may be absolute (https://ehr/fhir/Practitioner/1): the reference is its last two segments.
  const reference = typeof user === "string" ? user.split("/").slice(-2).join("/") : "";
  // COWS is clinician-administered: a patient or relative signed in is not its performer.
  const [type, id] = reference.split("/");
  return ["Practitioner", "PractitionerRole"].includes(type) && FHIR_ID.test(id || "") ? reference : null;
}

/** The card that opened the form, as the service named it in the link's appContext. */
export function appContextOf(value) {
  try {
    const context = JSON.parse(value);
    return context && typeof context.topic === "string" ? context : null;
  } catch {
    return null;
  }
}
