"""Redraws docs/card.png, the README's picture of a card: the card the service really answers for the
Sandbox walk-through's example patient (examples/sandbox-patient.py), drawn as an EHR shows cards
(the CDS Hooks Sandbox's layout) in headless Chromium.

    .venv/bin/python scripts/card-picture.py

The call is the one the walk-through makes: patient-view, the patient's record in prefetch and the
local FHIR server as fhirServer, to the service on loopback port 8081 in open mode (no token to
sign; what the card says is the same under examples/sandbox.toml).
"""

from __future__ import annotations

import html
import importlib.util
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cds_service import create_app  # noqa: E402
from cds_service.config import load_settings  # noqa: E402
from cds_service.pipeline import request_from_bundle  # noqa: E402

OUT = REPO / "docs" / "card.png"
TOPIC = "withdrawal-assessment"
FHIR_SERVER = "http://localhost:8090/fhir"
CHROMIUM = "/usr/bin/chromium"
COLOURS = {"critical": "#c62828", "warning": "#f9a825", "info": "#1565c0"}


def the_card() -> dict:
    spec = importlib.util.spec_from_file_location("sandbox_patient", REPO / "examples" / "sandbox-patient.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    request = request_from_bundle(example.bundle()) | {"fhirServer": FHIR_SERVER}
    with tempfile.TemporaryDirectory() as data:
        app = create_app(load_settings(environ={"WITHDRAWAL_CDS_DATA_DIR": data}))
        answer = app.test_client().post("/cds-services/withdrawal-patient-view", json=request,
                                        base_url="http://localhost:8081")
    return next(c for c in answer.get_json()["cards"] if c["source"]["topic"]["code"] == TOPIC)


def markdown(text: str) -> str:
    """The little markdown our cards use: paragraphs, `- ` lists and **bold**."""
    out = []
    for block in text.split("\n\n"):
        lines = html.escape(block).splitlines()
        lines = [re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", line) for line in lines]
        items = [line[2:] for line in lines if line.startswith("- ")]
        rest = [line for line in lines if not line.startswith("- ")]
        out += [f"<p>{' '.join(rest)}</p>"] if rest else []
        out += ["<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"] if items else []
    return "".join(out)


def page(card: dict) -> str:
    esc = html.escape
    suggestions = "".join(f"<button>{esc(s['label'])}</button>" for s in card.get("suggestions", []))
    links = "".join(f"<button class=link>{esc(link['label'])}</button>" for link in card.get("links", []))
    return f"""<!doctype html><meta charset=utf-8><style>
body {{ margin: 0; padding: 16px; background: #f3f4f6; font: 14px/1.45 "DejaVu Sans", sans-serif; color: #222; }}
.card {{ width: 640px; background: #fff; border: 1px solid #ccc; border-left: 8px solid {COLOURS[card['indicator']]};
        border-radius: 4px; padding: 12px 16px; }}
h1 {{ font-size: 16px; margin: 0 0 6px; }} p {{ margin: 6px 0; }} ul {{ margin: 4px 0; padding-left: 20px; }}
.source {{ color: #555; font-size: 12px; }} .source a {{ color: #1565c0; }}
button {{ font: inherit; margin: 8px 8px 0 0; padding: 5px 10px; border: 1px solid #1565c0; border-radius: 3px;
          background: #1565c0; color: #fff; }}
button.link {{ background: #fff; color: #1565c0; }} .dismiss {{ float: right; color: #555; font-size: 12px; }}
</style><div class=card><span class=dismiss>Dismiss</span><h1>{esc(card['summary'])}</h1>
<div class=source>Source: <a>{esc(card['source']['label'])}</a></div>{markdown(card['detail'])}
<div>{suggestions}</div><div>{links}</div></div>"""


def main() -> None:
    from playwright.sync_api import sync_playwright

    card = the_card()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_page(viewport={"width": 700, "height": 400})
        tab.set_content(page(card))
        tab.locator(".card").screenshot(path=str(OUT))
        browser.close()
    print(f"wrote {OUT.relative_to(REPO)}: {card['summary']}")


if __name__ == "__main__":
    main()
