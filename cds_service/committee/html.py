"""`withdrawal-cds report --html FILE`: one self-contained page for the CDS committee.

Everything is inline (styles, the charts as SVG) and nothing is fetched or run: no script, no
font, no image from elsewhere, so the file opens offline, can be mailed, and prints on A4 or Letter
(each section kept on one page where it fits). Every text is escaped; the only markup not written
here is pygal's SVG.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from cds_service.committee import charts, small, tables
from cds_service.committee.figures import Figures
from cds_service.committee.tables import Table

_CSS = """
@page { size: auto; margin: 15mm; }
body { font: 11pt/1.4 Helvetica, Arial, sans-serif; color: #111; max-width: 60rem; margin: 1.5rem auto;
       padding: 0 1rem; }
h1 { font-size: 18pt; margin-bottom: 0.2rem; }
h2 { font-size: 14pt; margin-top: 2rem; border-bottom: 1px solid #999; }
p.meta, p.note, figcaption { color: #444; font-size: 9.5pt; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 9.5pt; }
th, td { border: 1px solid #bbb; padding: 2px 6px; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #eee; text-align: left; }
figure { margin: 0.5rem 0 1rem; }
figure svg { width: 100%; height: auto; max-width: 900px; }
section, figure, table { break-inside: avoid; page-break-inside: avoid; }
@media print { body { max-width: none; margin: 0; padding: 0; } h2 { break-after: avoid; } }
"""


def write_html(figures: Figures, generated_at: datetime) -> str:
    scope = figures.scope
    title = f"CDS committee report: {scope.first_day.isoformat()} to {scope.last_day.isoformat()}"
    sections = [
        _section("Calls and cards", [
            _p(f"{small.count(figures.calls_in())} hook calls answered in the period."),
            _figure(charts.cards_per_100_calls(figures),
                    "Cards per 100 calls, week by week, every hook together; silent topics dashed."),
            _table(tables.cards_by_hook(figures)),
            _table(tables.cards_per_week(figures)),
            _table(tables.calls_by_week(figures)),
        ]),
        _section("What clinicians did", [
            _figure(charts.outcomes_per_topic(figures), "Cards shown, by what became of them (latest feedback)."),
            _table(tables.outcomes(figures)),
            _table(tables.top_reasons(figures)),
            _table(tables.override_reasons(figures)),
        ]),
        _section("Cards not shown", [_table(tables.held_back(figures))]),
        _section("Time to answer", [
            _figure(charts.latency_distribution(figures), "Calls per latency bucket, by hook."),
            _table(tables.latency(figures)),
        ]),
    ]
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # Nothing may be loaded or run: the page is its own content only.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:\">",
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        _p(f"Site: {scope.site}. Period: UTC days, both included. Generated {generated_at:%Y-%m-%d %H:%M} UTC "
           f"by withdrawal-cds.", "meta"),
        _p("Counts only: no patient identifier and nothing of any record is in this report. " + small.NOTE, "note"),
        *sections,
        "</body></html>",
    ]) + "\n"


def _section(heading: str, parts: list[str]) -> str:
    return f"<section><h2>{escape(heading)}</h2>\n" + "\n".join(parts) + "\n</section>"


def _p(text: str, css_class: str = "") -> str:
    attribute = f' class="{css_class}"' if css_class else ""
    return f"<p{attribute}>{escape(text)}</p>"


def _figure(svg: str, caption: str) -> str:
    return (f'<figure role="img" aria-label="{escape(caption)}">{svg}'
            f"<figcaption>{escape(caption)} Points from fewer than 5 cards or calls are not drawn.</figcaption>"
            f"</figure>")


def _table(table: Table) -> str:
    if not table.rows:
        return f"<h3>{escape(table.title)}</h3>" + _p("Nothing in this period.", "note")
    head = "".join(f"<th>{escape(cell)}</th>" for cell in table.header)
    body = "\n".join("<tr>" + "".join(_cell(cell) for cell in row) + "</tr>" for row in table.rows)
    note = _p(table.note, "note") if table.note else ""
    return (f"<h3>{escape(table.title)}</h3><table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"
            f"{note}")


def _cell(cell: str) -> str:
    numeric = cell == small.SMALL or cell == "-" or cell.replace(".", "", 1).rstrip("%").isdigit()
    return f'<td class="n">{escape(cell)}</td>' if numeric else f"<td>{escape(cell)}</td>"
