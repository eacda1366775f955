"""Report: summary tables printed with rich (terminal) or as plain text (pipes)."""

from __future__ import annotations

import pyarrow as pa
from rich.console import Console
from rich.table import Table


def summary_table(summaries: dict[str, pa.Table], title: str) -> Table:
    """Events, person-years, incidence per 100 PY (exact 95% CI) and cumulative incidence."""
    t = Table(title=title, title_justify="left")
    for col, just in (("arm", "left"), ("type", "left"), ("events", "right"), ("person-years", "right"),
                      ("rate/100 PY (95% CI)", "right"), ("first-event rate/100 PY", "right"),
                      ("cumulative incidence", "right")):
        t.add_column(col, justify=just)
    for arm, table in summaries.items():
        rows = table.to_pylist()
        for i, r in enumerate(rows):
            t.add_row(
                arm if i == 0 else "", r["type"], f"{r['events']:,}", f"{r['person_years']:,.1f}",
                f"{r['incidence_rate_per_100py']:.3f} ({r['incidence_rate_ci_lower']:.3f}–"
                f"{r['incidence_rate_ci_upper']:.3f})",
                f"{r['first_event_rate_per_100py']:.3f}",
                f"{100 * r['cumulative_incidence']:.2f}%",
                end_section=i == len(rows) - 1)
    return t


def print_summary(console: Console, summaries: dict[str, pa.Table], title: str) -> None:
    console.print(summary_table(summaries, title))
