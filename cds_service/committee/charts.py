"""The report's charts as static SVG (pygal), drawn when the report is written: the HTML file carries
them inline, with no script, so it opens offline, in any browser, and prints as it shows.

Points computed from a count of 1 to 4 are not drawn (small.py): a line has a gap there, a bar is
missing. Each chart says so under it (html.py).
"""

from __future__ import annotations

import re

import pygal
from pygal.style import Style

from cds_service.committee import small
from cds_service.committee.figures import OUTCOMES, Figures
from cds_service.store import SHOWN
from cds_service.store.counts import LATENCY_KEYS
from cds_service.switches import SILENT

# Colours that stay apart in print and for the common colour-vision deficiencies (Okabe-Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000", "#999999")
STYLE = Style(background="white", plot_background="white", foreground="#222", foreground_strong="#000",
              foreground_subtle="#666", colors=PALETTE, font_family="Helvetica, Arial, sans-serif",
              label_font_size=11, major_label_font_size=11, legend_font_size=11, title_font_size=14)
# pygal always writes a <script> of its tooltip settings; with no tooltip script (js=[]) it does nothing.
# Its comments name pygal's web site: nothing in the file should look like something to fetch.
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>|<!--.*?-->", re.DOTALL)


def _chart(kind, title: str, **config):
    return kind(title=title, style=STYLE, js=[], disable_xml_declaration=True, width=900, height=420,
                legend_at_bottom=True, legend_at_bottom_columns=3, truncate_legend=40, margin_bottom=30, **config)


def _svg(chart) -> str:
    return _SCRIPT.sub("", chart.render(is_unicode=True))


def cards_per_100_calls(figures: Figures) -> str:
    """A line per topic: cards shown per 100 calls, week by week (silent ones dashed)."""
    weeks = figures.scope.weeks()
    chart = _chart(pygal.Line, "Cards per 100 calls, by week", x_title="week starting (Monday)",
                   y_title="cards per 100 calls", x_label_rotation=30, min_scale=4, max_scale=8)
    chart.x_labels = [week.isoformat() for week in weeks]
    for topic in figures.topics:
        for measure, dashes in ((SHOWN, None), (SILENT, "6, 4")):
            if not figures.cards_in(topic, measure):
                continue
            values = [small.rate_value(figures.cards_in(topic, measure, week=week), figures.calls_in(week=week))
                      for week in weeks]
            style = {"dasharray": dashes} if dashes else {}
            chart.add(f"{topic}{' (silent)' if measure == SILENT else ''}", values, stroke_style=style,
                      allow_interruptions=True)
    return _svg(chart)


def outcomes_per_topic(figures: Figures) -> str:
    """A stacked bar per topic: what became of its shown cards."""
    topics = [topic for topic in figures.topics if figures.shown_logged(topic)]
    chart = _chart(pygal.HorizontalStackedBar, "What clinicians did with the cards shown", y_title="cards")
    chart.x_labels = topics
    for outcome in OUTCOMES:
        chart.add(outcome, [_drawable(figures.outcomes[topic][outcome]) for topic in topics])
    return _svg(chart)


def latency_distribution(figures: Figures) -> str:
    """Calls per latency bucket, a bar series per hook."""
    hooks = [hook for hook in figures.hooks if figures.latency.get(hook)]
    chart = _chart(pygal.Bar, "Time to answer (calls per latency bucket)", x_title="answered within (ms)",
                   y_title="calls", x_label_rotation=30)
    chart.x_labels = [f"≤ {key}" if key[0].isdigit() else "slower" for key in LATENCY_KEYS]
    for hook in hooks:
        chart.add(hook, [_drawable(figures.latency[hook].get(key, 0)) for key in LATENCY_KEYS])
    return _svg(chart)


def _drawable(count: int) -> int | None:
    return None if small.is_small(count) else count
