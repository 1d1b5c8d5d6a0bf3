"""`withdrawal-cds report --csv DIR`: one CSV file per table (tables.py), and a README.txt that says
what the period and site were and how small counts are written."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from cds_service.committee import small
from cds_service.committee.figures import Figures
from cds_service.committee.tables import every_table


def write_csv(figures: Figures, directory: Path, generated_at: datetime) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for table in every_table(figures):
        path = directory / f"{table.name}.csv"
        with open(path, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(table.header)
            writer.writerows(table.rows)
        written.append(path)
    scope = figures.scope
    readme = directory / "README.txt"
    readme.write_text("\n".join([
        "withdrawal-cds committee report, as CSV",
        f"Period: {scope.first_day.isoformat()} to {scope.last_day.isoformat()} (UTC days, both included)",
        f"Site: {scope.site}",
        f"Generated: {generated_at:%Y-%m-%d %H:%M} UTC",
        "",
        small.NOTE,
        "A cell '<5' is such a count; a cell '-' is a rate left out (or one with nothing to divide by).",
        "",
        *(f"{table.name}.csv: {table.title}" + (f". {table.note}" if table.note else "")
          for table in every_table(figures)),
    ]) + "\n", encoding="utf-8")
    return [*written, readme]
