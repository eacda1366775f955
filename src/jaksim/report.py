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


def contrast_table(contrasts: dict[str, pa.Table], reference: str) -> Table:
    """Events averted versus the reference arm per 1,000 patients and per 1,000 vaccinated, NNV."""
    t = Table(title=f"Versus the reference arm '{reference}' (paired: same patients, common random numbers)",
              title_justify="left")
    for col, just in (("arm", "left"), ("outcome", "left"), ("events ref → arm", "right"),
                      ("averted /1,000 patients (95% CI)", "right"),
                      ("averted /1,000 vaccinated (95% CI)", "right"), ("NNV (95% CI)", "right")):
        t.add_column(col, justify=just)
    for arm, table in contrasts.items():
        rows = table.to_pylist()
        for i, r in enumerate(rows):
            vacc = (f"{r['averted_per_1000_vaccinated']:.2f} ({r['averted_per_1000_vaccinated_ci_lower']:.2f} to "
                    f"{r['averted_per_1000_vaccinated_ci_upper']:.2f})" if r["n_vaccinated"] else "–")
            nnv = "–"
            if r["n_vaccinated"] and r["number_needed_to_vaccinate"] == r["number_needed_to_vaccinate"]:
                hi = r["number_needed_to_vaccinate_ci_upper"]
                nnv = (f"{r['number_needed_to_vaccinate']:.0f} ({r['number_needed_to_vaccinate_ci_lower']:.0f} to "
                       f"{'∞' if hi == float('inf') else f'{hi:.0f}'})")
            t.add_row(arm if i == 0 else "", r["outcome"], f"{r['events_reference']:,} → {r['events_arm']:,}",
                      f"{r['averted_per_1000_patients']:.2f} ({r['averted_per_1000_patients_ci_lower']:.2f} to "
                      f"{r['averted_per_1000_patients_ci_upper']:.2f})", vacc, nnv, end_section=i == len(rows) - 1)
    return t


def vaccination_table(stats: dict[str, dict]) -> Table:
    """Who was vaccinated, when, and (capacity-limited arms) how long they waited."""
    t = Table(title="Vaccination", title_justify="left")
    for col in ("arm", "vaccinated", "two doses", "dosed before treatment start", "treatment delayed",
                "wait weeks (mean / median / p90)", "pathway s"):
        t.add_column(col, justify="left" if col == "arm" else "right")
    for arm, v in stats.items():
        wait = "–"
        if v.get("wait_weeks_mean") is not None:
            wait = f"{v['wait_weeks_mean']:.1f} / {v['wait_weeks_median']:.1f} / {v['wait_weeks_p90']:.1f}"
        t.add_row(arm, f"{v['n_vaccinated']:,} ({100 * v['share_vaccinated']:.1f}%)", f"{v['n_two_doses']:,}",
                  f"{100 * v['share_of_vaccinated_dosed_before_treatment_start']:.1f}%",
                  f"{v['n_treatment_start_delayed']:,}", wait,
                  f"{v['pathway_seconds']:.2f}" if "pathway_seconds" in v else "–")
    return t
