"""Sections of the HTML report built from the outcome tables: summary, contrasts, curves,
rates by stratum and vaccination. Each returns a :class:`Section` (plain strings for the
template) and never fails for want of a table: the section then says what is missing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from jaksim.report import figures as fg
from jaksim.report import survival as sv
from jaksim.report.data import Folder

MC_CI = "95% CI: Monte Carlo uncertainty of the simulated cohort (parameters fixed at their values)"
PSA_CI = "2.5%–97.5% over PSA draws: parameter uncertainty (plus the Monte Carlo error of each draw)"


@dataclass
class Table:
    caption: str
    columns: list[str]
    rows: list[list[str]]
    flagged: list[bool] = field(default_factory=list)    # rows to highlight (assumptions)


@dataclass
class Section:
    id: str
    title: str
    notes: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[fg.Figure] = field(default_factory=list)
    code: str = ""                                        # preformatted text (the scenario file)


def ci(x: float, lo: float, hi: float, fmt: str = "{:.3f}") -> str:
    if x != x:
        return "–"
    hi_s = "∞" if hi == float("inf") else fmt.format(hi)
    return f"{fmt.format(x)} ({fmt.format(lo)} to {hi_s})"


def pct(x: float, lo: float, hi: float) -> str:
    return ci(100 * x, 100 * lo, 100 * hi, "{:.2f}") + " %"


def label(name: str) -> str:
    return name.replace("_", " ")


# ------------------------------------------------------------------- summary
def summary_section(f: Folder) -> Section:
    s = Section("summary", "Summary")
    if f.kind == "psa":
        return _psa_summary(f, s)
    by_arm = f.tables.get("summary", {})
    rows = []
    for arm, t in by_arm.items():
        for r in t.to_pylist():
            rows.append([arm, label(r["type"]), f"{r['events']:,}", f"{r['person_years']:,.1f}",
                         ci(r["incidence_rate_per_100py"], r["incidence_rate_ci_lower"], r["incidence_rate_ci_upper"]),
                         ci(r["first_event_rate_per_100py"], r["first_event_rate_ci_lower"],
                            r["first_event_rate_ci_upper"]),
                         pct(r["cumulative_incidence"], r["cumulative_incidence_ci_lower"],
                             r["cumulative_incidence_ci_upper"])])
    s.tables.append(Table(
        "Events, person-years, incidence per 100 patient-years (all events; exact Poisson 95% CI), first-event "
        "rate per 100 PY at risk of a first event, and cumulative incidence at the horizon (exact binomial 95% CI)",
        ["arm", "type", "events", "person-years", "rate /100 PY (95% CI)", "first-event rate /100 PY (95% CI)",
         "cumulative incidence (95% CI)"], rows))
    s.notes.append(MC_CI + ".")
    return s


def _psa_summary(f: Folder, s: Section) -> Section:
    out = f.psa.get("outcomes")
    cyc = f.psa.get("cycles")
    if out is None:
        s.notes.append("This PSA folder has no outcomes table.")
        return s
    o = out.to_pydict()
    types = [c[len("events_"):] for c in out.column_names if c.startswith("events_")]
    py: dict[tuple[int, str], float] = {}
    if cyc is not None:
        c = cyc.to_pydict()
        for d, a, p in zip(c["draw"], c["arm"], c["person_years"], strict=True):
            py[(d, a)] = py.get((d, a), 0.0) + p
    rows = []
    for arm in f.arms:
        idx = [i for i, a in enumerate(o["arm"]) if a == arm]
        pys = np.array([py.get((o["draw"][i], arm), np.nan) for i in idx])
        for t in types:
            ev = np.array([o[f"events_{t}"][i] for i in idx], dtype=float)
            rate = 100 * ev / pys
            rows.append([arm, label(t), f"{ev.mean():,.1f}", f"{np.nanmean(pys):,.1f}",
                         ci(float(np.nanmean(rate)), *np.nanpercentile(rate, [2.5, 97.5]).tolist())
                         if np.isfinite(rate).any() else "–"])
    s.tables.append(Table(f"Events and incidence per 100 patient-years per arm: mean over {f.manifest.get('n_draws')} "
                          "PSA draws (2.5%–97.5% over draws)",
                          ["arm", "type", "events (mean)", "person-years (mean)", "rate /100 PY (2.5%–97.5%)"], rows))
    s.notes.append(PSA_CI + ".")
    return s


# ----------------------------------------------------------------- contrasts
def contrasts_section(f: Folder) -> Section:
    s = Section("contrasts", f"Contrasts versus the reference arm ({f.reference})")
    if f.kind == "psa":
        summ = f.psa.get("summary")
        if summ is None:
            s.notes.append("This PSA folder has no summary table.")
            return s
        rows = [[r["arm"], label(r["outcome"]), f"{r['mean']:,.5g} ± {r['mcse']:.3g}",
                 f"{r['p2_5']:,.5g} to {r['p97_5']:,.5g}"]
                for r in summ.to_pylist() if r["statistic"] == "incremental" and r["arm"] != f.reference]
        s.tables.append(Table("Increments versus the reference arm: mean over draws ± Monte Carlo SE of the mean; "
                              "2.5%–97.5% over draws", ["arm", "outcome", "increment ± MCSE", "2.5%–97.5%"], rows))
        s.notes.append(PSA_CI + ".")
        return s
    rows = []
    for arm, t in f.tables.get("contrasts", {}).items():
        for r in t.to_pylist():
            vacc = (ci(r["averted_per_1000_vaccinated"], r["averted_per_1000_vaccinated_ci_lower"],
                       r["averted_per_1000_vaccinated_ci_upper"], "{:.2f}") if r["n_vaccinated"] else "–")
            nnv = "–"
            if r["n_vaccinated"]:
                nnv = ci(r["number_needed_to_vaccinate"], r["number_needed_to_vaccinate_ci_lower"],
                         r["number_needed_to_vaccinate_ci_upper"], "{:.0f}")
            rows.append([arm, label(r["outcome"]), f"{r['events_reference']:,} → {r['events_arm']:,}",
                         ci(r["averted_per_1000_patients"], r["averted_per_1000_patients_ci_lower"],
                            r["averted_per_1000_patients_ci_upper"], "{:.2f}"), vacc, nnv])
    if not rows:
        s.notes.append("One arm only: there is nothing to contrast.")
        return s
    s.tables.append(Table("Events averted versus the reference arm (paired: same patients and event clocks, "
                          "common random numbers)",
                          ["arm", "outcome", "events ref → arm", "averted /1,000 patients (95% CI)",
                           "averted /1,000 vaccinated (95% CI)", "number needed to vaccinate (95% CI)"], rows))
    s.notes.append(MC_CI + "; from the paired per-patient differences.")
    return s


# -------------------------------------------------------------------- curves
def _patients(f: Folder) -> dict[str, pa.Table]:
    return f.tables.get("patients", {})


def curves_section(f: Folder, figdir: Path) -> Section:
    s = Section("curves", "Cumulative incidence and Kaplan–Meier curves")
    patients = _patients(f)
    types = list(f.manifest.get("infection_types", []))
    if f.kind == "psa" or not patients or not types:
        s.notes.append("Not available: curves are computed from the per-patient table of a run folder "
                       "(`jaksim run`); a PSA folder holds per-draw means only.")
        return s
    aj: dict[str, dict[str, sv.Curve]] = {t: {} for t in types}
    km: dict[str, dict[str, sv.Curve]] = {t: {} for t in types}
    rows = []
    horizon = float(f.manifest.get("horizon_years", 1.0))
    for arm, p in patients.items():
        fu, exit_reason = p["follow_up_years"].to_numpy(), np.asarray(p["exit_reason"].to_pylist(), dtype=object)
        for t in types:
            first = p[f"{t}_first_years"].to_numpy(zero_copy_only=False).astype(np.float64)
            time, cause = sv.competing_risk_inputs(fu, exit_reason, first)
            aj[t][arm] = sv.aalen_johansen(time, cause)
            km[t][arm] = sv.kaplan_meier(time, cause == 1)
            e, lo, hi = aj[t][arm].at([horizon])
            k, klo, khi = km[t][arm].at([horizon])
            rows.append([arm, label(t), pct(e[0], lo[0], hi[0]), pct(k[0], klo[0], khi[0])])
    n = len(next(iter(patients.values())))
    s.figures.append(fg.save(
        fg.curves(aj, horizon, "Cumulative incidence of a first event (%)"), figdir, "cumulative_incidence",
        "Cumulative incidence of a first event (Aalen–Johansen, death as a competing risk)",
        f"Cumulative incidence of a first infection of each type by arm, years since treatment start, with death "
        f"(background or infection-related) as a competing risk (Aalen–Johansen estimator, {n:,} simulated patients "
        f"per arm). Shaded: pointwise 95% CI (delta method), Monte Carlo uncertainty only."))
    s.figures.append(fg.save(
        fg.curves(km, horizon, "Free of a first event (%)"), figdir, "kaplan_meier",
        "Time to first event (Kaplan–Meier)",
        "Kaplan–Meier probability of remaining free of a first infection of each type by arm, deaths censored. "
        "Shaded: pointwise 95% CI (Greenwood variance, log(−log) scale), Monte Carlo uncertainty only. "
        "1 − KM exceeds the cumulative incidence when deaths are frequent: it describes a world without death."))
    s.tables.append(Table(f"At the horizon ({horizon:g} years)",
                          ["arm", "type", "cumulative incidence, Aalen–Johansen (95% CI)",
                           "event-free, Kaplan–Meier (95% CI)"], rows))
    return s
