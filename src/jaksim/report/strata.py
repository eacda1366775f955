"""Report sections: rates by stratum (exact Poisson CIs) and vaccination."""

from __future__ import annotations

import numpy as np

from jaksim.analysis.accumulators import poisson_ci
from jaksim.report import survival as sv
from jaksim.report.data import Folder
from jaksim.report.sections import MC_CI, Section, Table, ci, label

GC_LABELS = {"none": "none", "up_to_5mg": "≤ 5 mg/day", "over_5_to_10mg": "> 5–10 mg/day", "over_10mg": "> 10 mg/day"}

TIME_VARYING_NOTE = (
    "Strata are the patient's value at treatment start, except attained age: person-time is split at each "
    "patient's band limits (age advances with follow-up) and events are banded by the age at the event "
    "(events table). The glucocorticoid band can change during follow-up (a taper, "
    "treatment.glucocorticoid_taper); the outputs do not record each patient's band over time, so person-time "
    "cannot be split at those change points here: rates by glucocorticoid band are by the band at treatment "
    "start. Region and indication do not change.")


def _levels(p, variable: str) -> np.ndarray:
    if variable == "age at treatment start":
        return sv.age_band_labels(p["age_years"].to_numpy())
    if variable == "glucocorticoid band at treatment start":
        return np.array([GC_LABELS.get(v, v) for v in p["glucocorticoid_band"].to_pylist()], dtype=object)
    if variable == "region":        # the named region; the one-flag form: Asia / rest of world
        asia = np.where(p["asia"].to_numpy(zero_copy_only=False), "Asia", "rest of world").astype(object)
        if "region" not in p.column_names:
            return asia
        named = np.array([str(v).replace("_", " ") for v in p["region"].to_pylist()], dtype=object)
        return np.where(named == "unspecified", asia, named)
    if variable == "sex":
        return np.where(p["female"].to_numpy(zero_copy_only=False), "female", "male").astype(object)
    return np.array([str(v) for v in p["indication"].to_pylist()], dtype=object)


BASELINE_VARIABLES = ("age at treatment start", "glucocorticoid band at treatment start", "region", "sex",
                      "indication")


def _row(arm: str, level: str, py: float, events: list[float]) -> list[str]:
    lo, hi = poisson_ci(np.array(events), np.full(len(events), py))
    cells = [ci(100 * e / py, lo[i], hi[i]) if py > 0 else "–" for i, e in enumerate(events)]
    return [arm, level, f"{py:,.1f}", *[f"{int(e):,}: {c}" for e, c in zip(events, cells, strict=True)]]


def strata_section(f: Folder) -> Section:
    s = Section("strata", "Rates by stratum")
    patients = f.tables.get("patients", {})
    types = list(f.manifest.get("infection_types", []))
    if f.kind == "psa" or not patients:
        s.notes.append("Not available: rates by stratum are computed from the per-patient table of a run folder "
                       "(`jaksim run`).")
        return s
    columns = ["arm", "level", "person-years", *[f"{label(t)}: events, rate /100 PY (95% CI)" for t in types]]
    for variable in BASELINE_VARIABLES:
        rows = []
        for arm, p in patients.items():
            lev = _levels(p, variable)
            fu = p["follow_up_years"].to_numpy()
            counts = {t: p[f"{t}_events"].to_numpy() for t in types}
            for level in sorted(set(lev.tolist()), key=_order):
                m = lev == level
                rows.append(_row(arm, level, float(fu[m].sum()), [float(counts[t][m].sum()) for t in types]))
        s.tables.append(Table(f"By {variable}: events and incidence per 100 patient-years (all events; exact "
                              "Poisson 95% CI)", columns, rows))
    events = f.tables.get("events", {})
    if events:
        rows = []
        for arm, p in patients.items():
            py = sv.attained_age_person_years(p["age_years"].to_numpy(), p["follow_up_years"].to_numpy())
            ev = events.get(arm)
            kinds = np.asarray(ev["type"].to_pylist(), dtype=object) if ev is not None else np.array([], dtype=object)
            band = sv.age_band_labels(ev["age_at_event_years"].to_numpy()) if ev is not None else kinds
            for _, _, name in sv.AGE_BANDS:
                rows.append(_row(arm, name, py[name], [float(((kinds == t) & (band == name)).sum()) for t in types]))
        s.tables.append(Table("By attained age (person-time split at the band limits): events and incidence per "
                              "100 patient-years (exact Poisson 95% CI)", columns, rows))
    s.notes += [MC_CI + ".", TIME_VARYING_NOTE]
    return s


def _order(level: str):
    ages = [name for _, _, name in sv.AGE_BANDS]
    gcs = list(GC_LABELS.values())
    if level in ages:
        return (0, ages.index(level), level)
    if level in gcs:
        return (0, gcs.index(level), level)
    return (1, 0, level)


def vaccination_section(f: Folder) -> Section:
    s = Section("vaccination", "Vaccination and screening")
    stats = f.manifest.get("vaccination") or {}
    vaccinated = {a: v for a, v in stats.items() if v.get("n_vaccinated")}
    if f.kind == "psa":
        s.notes.append("Vaccination and screening statistics are written by `jaksim run` (a PSA uses the same "
                       "patients and schedules in every draw); run the scenario to see them.")
        return s
    tb = [a for a in f.arms if (stats.get(a) or {}).get("tb_screening")]
    vzv = [a for a in f.arms if (stats.get(a) or {}).get("vzv_screening")]
    if not vaccinated and not tb and not vzv:
        s.notes.append("No arm of this scenario vaccinates or screens.")
        return s
    if vaccinated:
        s.tables.append(_vaccination_table(f, stats))
    if tb:
        s.tables.append(_tb_table(tb, stats))
    if vzv:
        s.tables.append(_vzv_table(vzv, stats))
    return s


def _vaccination_table(f: Folder, stats: dict) -> Table:
    rows = []
    for arm in f.arms:
        v = stats.get(arm)
        if v is None:
            continue
        wait = "–"
        if v.get("wait_weeks_mean") is not None:
            wait = f"{v['wait_weeks_mean']:.1f} / {v['wait_weeks_median']:.1f} / {v['wait_weeks_p90']:.1f}"
        rows.append([arm, f"{v['n_vaccinated']:,} ({100 * v['share_vaccinated']:.1f}%)", f"{v['n_two_doses']:,}",
                     f"{100 * v['share_of_vaccinated_dosed_before_treatment_start']:.1f}%",
                     f"{v['n_treatment_start_delayed']:,}", wait])
    return Table("Who was vaccinated, when, and (capacity-limited clinic) how long they waited",
                 ["arm", "vaccinated", "two doses", "vaccinated with dose 1 before treatment start",
                  "treatment start delayed", "wait weeks (mean / median / 90th percentile)"], rows)


def _tb_table(arms: list[str], stats: dict) -> Table:
    rows = []
    for arm in arms:
        t = stats[arm]["tb_screening"]
        nns = t.get("number_needed_to_screen")
        wait = t.get("clinic", {}).get("wait_weeks_mean")
        rows.append([arm, f"{t['n_screened']:,}", f"{t['n_latent_infection']:,}",
                     f"{t['n_test_positive']:,} ({t['n_true_positive']:,})", f"{t['n_prophylaxis_completed']:,}",
                     f"{t['n_latent_infection_cured']:,}", f"{t['n_hepatotoxicity']:,}",
                     f"{t.get('active_tb_cases', 0):,}", f"{t.get('active_tb_cases_averted', 0):,}",
                     f"{nns:,.0f}" if nns is not None else "–", f"{wait:.1f}" if wait is not None else "–"])
    return Table("Latent TB screening: who was found and treated, active TB averted against the reference arm",
                 ["arm", "screened", "latent infection", "test positive (true positive)", "prophylaxis completed",
                  "cured", "hepatotoxicity", "active TB", "averted", "number needed to screen",
                  "clinic wait weeks (mean)"], rows)


def _vzv_table(arms: list[str], stats: dict) -> Table:
    rows = []
    for arm in arms:
        z = stats[arm]["vzv_screening"]
        cases = [f"{z[k + '_cases']:,} ({z[k + '_cases_averted']:,})" if k + "_cases" in z else "–"
                 for k in ("varicella", "herpes_zoster")]
        rows.append([arm, f"{z['n_seronegative']:,} / {z['n_patients']:,}", f"{z['n_serology_tests']:,}",
                     f"{z['n_test_seronegative']:,}", f"{z['n_varicella_vaccinated']:,}",
                     f"{z['n_varicella_protected']:,}", *cases])
    return Table("VZV serostatus: serology, varicella vaccination of seronegatives, cases (averted against the "
                 "reference arm)", ["arm", "seronegative", "serology tests", "testing seronegative",
                                    "two varicella doses", "protected", "varicella (averted)",
                                    "zoster (averted)"], rows)
