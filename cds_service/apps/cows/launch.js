// The SMART launch URL. An EHR opens it with ?launch=…&iss=…: this page sends the browser to the
// EHR's authorization server (authorization code with PKCE, S256 required) and on to the form
// (./) with the code. ?iss=…&patient=… without launch is the open launch: straight to the form.
const params = new URLSearchParams(location.search);

// SMART v2 scopes where the server says it speaks them, else v1 (which SMART v2 servers also take).
const SCOPES = {
  v1: "patient/Patient.read patient/Observation.write",
  v2: "patient/Patient.r patient/Observation.c",
};

async function scopesFor(iss) {
  try {
    const response = await fetch(`${iss.replace(/\/+$/, "")}/.well-known/smart-configuration`,
                                 {headers: {Accept: "application/json"}});
    const capabilities = response.ok ? (await response.json()).capabilities || [] : [];
    return capabilities.includes("permission-v2") ? SCOPES.v2 : SCOPES.v1;
  } catch {
    return SCOPES.v1;  // fhirclient reports the server's SMART configuration problem itself
  }
}

async function start() {
  const iss = params.get("iss");
  if (!iss || !params.has("launch")) {
    throw new Error("this address is the SMART launch URL: the EHR opens it with launch and iss parameters.");
  }
  const config = await (await fetch("config.json")).json();
  await FHIR.oauth2.authorize({
    clientId: config.clientId,
    // openid fhirUser: an id_token naming the user, who becomes the Observation's performer.
    scope: `launch openid fhirUser ${await scopesFor(iss)}`,
    redirectUri: "./",
    pkceMode: "required",
    // Inside an EHR's frame, finish the launch in that frame.
    completeInTarget: true,
  });
}

if (!params.has("launch") && params.has("iss") && params.has("patient")) {
  location.replace(`./${location.search}`);
} else {
  start().catch((error) => {
    document.getElementById("status").hidden = true;
    const problem = document.getElementById("problem");
    problem.textContent = `The COWS form could not start: ${error.message}`;
    problem.hidden = false;
  });
}
