"""Report: summary tables printed with rich (terminal) or as plain text (pipes)."""

from __future__ import annotations

import pyarrow as pa
from rich.console import Console, JustifyMethod
from rich.table import Table


def summary_table(summaries: dict[str, pa.Table], title: str) -> Table:
    """Events, person-years, incidence per 100 PY (exact 95% CI) and cumulative incidence."""
    t = Table(title=title, title_justify="left")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("arm", "left"), ("type", "left"), ("events", "right"), ("person-years", "right"),
        ("rate/100 PY (95% CI)", "right"), ("first-event rate/100 PY", "right"), ("cumulative incidence", "right"))
    for col, just in columns:
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
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("arm", "left"), ("outcome", "left"), ("events ref → arm", "right"),
        ("averted /1,000 patients (95% CI)", "right"),
        ("averted /1,000 vaccinated (95% CI)", "right"), ("NNV (95% CI)", "right"))
    for col, just in columns:
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


def screening_table(stats: dict[str, dict]) -> Table:
    """Latent TB screening per arm: who was found and treated, active TB cases averted against
    the reference arm and the number needed to screen to avert one."""
    t = Table(title="Latent TB screening (active TB averted versus the reference arm)", title_justify="left")
    for col in ("arm", "screened", "latent infection", "test positive (true)", "prophylaxis completed",
                "cured", "hepatotoxicity", "active TB", "averted", "number needed to screen"):
        t.add_column(col, justify="left" if col == "arm" else "right")
    for arm, v in stats.items():
        s = v.get("tb_screening")
        if s is None:
            continue
        nns = s.get("number_needed_to_screen")
        t.add_row(arm, f"{s['n_screened']:,}", f"{s['n_latent_infection']:,}",
                  f"{s['n_test_positive']:,} ({s['n_true_positive']:,})", f"{s['n_prophylaxis_completed']:,}",
                  f"{s['n_latent_infection_cured']:,}", f"{s['n_hepatotoxicity']:,}",
                  f"{s.get('active_tb_cases', 0):,}", f"{s.get('active_tb_cases_averted', 0):,}",
                  f"{nns:,.0f}" if nns is not None else "–")
    return t


def vzv_table(stats: dict[str, dict]) -> Table:
    """VZV serostatus per arm: seronegative patients, serology, varicella vaccination, and the
    varicella and zoster cases averted against the reference arm."""
    t = Table(title="VZV serostatus (cases averted versus the reference arm)", title_justify="left")
    for col in ("arm", "seronegative", "serology tests", "test seronegative", "varicella vaccinated", "protected",
                "varicella (averted)", "zoster (averted)"):
        t.add_column(col, justify="left" if col == "arm" else "right")
    for arm, v in stats.items():
        z = v.get("vzv_screening")
        if z is None:
            continue
        cases = [f"{z[k + '_cases']:,} ({z[k + '_cases_averted']:,})" if k + "_cases" in z else "–"
                 for k in ("varicella", "herpes_zoster")]
        t.add_row(arm, f"{z['n_seronegative']:,} / {z['n_patients']:,}", f"{z['n_serology_tests']:,}",
                  f"{z['n_test_seronegative']:,}", f"{z['n_varicella_vaccinated']:,}",
                  f"{z['n_varicella_protected']:,}", *cases)
    return t


# ----------------------------------------------------------------------- economics
def _money(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def economics_rows(econ: dict[str, pa.Table]) -> list[dict]:
    """Per arm (in arm order): means, increments with CIs, incremental-analysis status and ICER."""
    from jaksim.analysis.accumulators import icer_table
    rows = [t.to_pylist()[0] for t in econ.values()]
    icers = icer_table([r["arm"] for r in rows], [r["mean_costs"] for r in rows], [r["mean_qalys"] for r in rows])
    for r, i in zip(rows, icers, strict=False):
        r.update(status=i["status"], comparator=i["comparator"], icer=i["icer"])
    return rows


def economics_table(econ: dict[str, pa.Table], wtp: tuple[float, ...]) -> Table:
    """Mean costs, QALYs and life-years per patient; increments versus the reference (paired 95% CI),
    incremental analysis (dominance, extended dominance, ICER) and net monetary benefit."""
    rows = economics_rows(econ)
    r0 = rows[0]
    cur = r0["currency"]
    t = Table(title=f"Costs ({cur}, {r0['price_year']} prices) and QALYs per patient, discounted "
                    f"{100 * r0['discount_rate_costs']:g}% / {100 * r0['discount_rate_outcomes']:g}% a year "
                    f"(continuous time); increments versus '{r0['reference_arm']}' (paired 95% CI)",
              title_justify="left")
    cols = ["arm", "costs", "QALYs", "life-years", "Δ costs (95% CI)", "Δ QALYs (95% CI)", "status", "ICER"]
    cols += [f"NMB @ {w:,.0f}" for w in wtp]
    for c in cols:
        t.add_column(c, justify="left" if c in ("arm", "status") else "right")
    for i, r in enumerate(rows):
        d_c = d_q = "–"
        if i:
            d_c = (f"{_money(r['incremental_costs'])} ({_money(r['incremental_costs_ci_lower'])} to "
                   f"{_money(r['incremental_costs_ci_upper'])})")
            d_q = (f"{r['incremental_qalys']:.5f} ({r['incremental_qalys_ci_lower']:.5f} to "
                   f"{r['incremental_qalys_ci_upper']:.5f})")
        icer = "–" if r["icer"] != r["icer"] else f"{_money(r['icer'])} vs {r['comparator']}"
        nmb = [_money(w * r["mean_qalys"] - r["mean_costs"]) for w in wtp]
        t.add_row(r["arm"], _money(r["mean_costs"]), f"{r['mean_qalys']:.4f}", f"{r['mean_life_years']:.4f}",
                  d_c, d_q, r["status"], icer, *nmb)
    return t


def psa_table(result) -> Table:
    """PSA means over draws with Monte Carlo standard errors, and increments versus the reference."""
    t = Table(title=f"PSA ({result.currency}): mean over draws ± Monte Carlo SE; 95% interval over draws",
              title_justify="left")
    for c in ("arm", "outcome", "mean ± MCSE", "2.5%–97.5%", "increment ± MCSE", "increment 2.5%–97.5%"):
        t.add_column(c, justify="left" if c in ("arm", "outcome") else "right")
    rows = result.summary.to_pylist()
    by = {(r["arm"], r["outcome"], r["statistic"]): r for r in rows}
    for arm in result.arms:
        for i, o in enumerate(("costs", "qalys", "life_years")):
            m, d = by[(arm, o, "mean")], by[(arm, o, "incremental")]
            f = _money if o == "costs" else (lambda x: f"{x:.5f}")
            t.add_row(arm if i == 0 else "", o, f"{f(m['mean'])} ± {f(m['mcse'])}", f"{f(m['p2_5'])}–{f(m['p97_5'])}",
                      f"{f(d['mean'])} ± {f(d['mcse'])}", f"{f(d['p2_5'])}–{f(d['p97_5'])}", end_section=i == 2)
    return t
