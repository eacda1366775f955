"""Vaccination schedules of each arm, chunk by chunk, and the per-arm vaccination counts.

A schedule gives each patient's treatment start and vaccine dose times (years since the index
date). Arms without a clinic capacity get direct schedules computed chunk by chunk; arms with
one run the care pathway (the compiled clinic) once over the whole cohort, since patients share clinic slots.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from jaksim.codes import TUBERCULOSIS, VARICELLA, ZOSTER
from jaksim.cohort.patients import Cohort
from jaksim.model.disease_activity import activity_multipliers, controlled_interval, controlled_share
from jaksim.model.hazards import ArmSpec
from jaksim.model.latent_tb import with_screening
from jaksim.model.spec import Model
from jaksim.model.vaccination import (
    Schedule,
    accepts,
    completes,
    direct_schedule,
    eligible,
    finish_schedule,
)
from jaksim.model.vzv_serostatus import with_vzv

if TYPE_CHECKING:   # the pathway (SimPy) is imported by arms with a clinic only: not on every run's path
    from jaksim.pathway.clinic import PathwayResult


class Schedules:
    """Each arm's vaccination schedule for any chunk; capacity-limited arms via the care pathway.

    The pathway couples patients (they share clinic slots), so it runs once over the whole
    cohort before the chunks (read ``chunk_size`` patients at a time); direct schedules are
    computed chunk by chunk.
    """

    def __init__(self, model: Model, chunk_size: int):
        self.model = model
        self.pathways: dict[str, PathwayResult] = {}
        sc = model.scenario
        #: per arm with a screening clinic: its test dates (``PathwayResult.dose1``)
        self.screening: dict[str, PathwayResult] = {}
        for arm in model.arms:
            t = arm.tb_screening
            if t is not None and t.clinic is not None and t.test != "none":
                from jaksim.pathway.clinic import screening_visits
                self.screening[arm.name] = screening_visits(t.clinic, t.referral_weeks_before_start, sc.seed,
                                                            sc.n_patients)
            v = arm.vaccination
            if v is None or v.clinic is None:
                continue
            offered, second = clinic_patients(model, v, chunk_size)
            from jaksim.pathway.clinic import run_pathway
            self.pathways[arm.name] = run_pathway(v, sc.seed, offered, second)

    def chunk(self, arm: ArmSpec, cohort: Cohort) -> Schedule:
        """The schedule of ``arm`` for the patients of ``cohort`` (consecutive ids)."""
        v, seed = arm.vaccination, self.model.scenario.seed
        if v is None:
            s = self.model.unvaccinated(len(cohort))
        elif v.clinic is None:
            s = direct_schedule(v, seed, cohort.patient_id, cohort.age, cohort.gc_band, cohort.covariates,
                                arm.jak_inhibitor)
        else:
            p = self.pathways[arm.name]
            lo, hi = int(cohort.patient_id[0]), int(cohort.patient_id[-1]) + 1
            s = finish_schedule(v, seed, cohort.patient_id, cohort.age, cohort.gc_band, arm.jak_inhibitor,
                                p.dose1[lo:hi], p.dose2[lo:hi])
        if arm.tb_screening is not None:
            visits = self.screening.get(arm.name)
            lo = int(cohort.patient_id[0]) if len(cohort) else 0
            hi = lo + len(cohort)
            s = with_screening(s, arm.tb_screening, arm.types, seed, cohort.patient_id,
                               None if visits is None else visits.dose1[lo:hi])
        if arm.vzv is not None:
            s = with_vzv(s, arm.vzv, arm.types, seed, cohort.patient_id, cohort.region)
        return s


def clinic_patients(model: Model, v, chunk_size: int = 1 << 16) -> tuple[np.ndarray, np.ndarray]:
    """Who the clinic of strategy ``v`` sees, over the whole cohort: (offered: eligible and
    accepting, wants a second dose), read ``chunk_size`` patients at a time."""
    n, seed = model.scenario.n_patients, model.scenario.seed
    offered = np.zeros(n, dtype=bool)
    second = np.zeros(n, dtype=bool)
    for start in range(0, n, chunk_size):
        c = model.cohort.block(start, min(n, start + chunk_size))
        offered[start:start + len(c)] = eligible(v, c.age, c.gc_band, c.covariates) & accepts(v, seed, c.patient_id)
        second[start:start + len(c)] = completes(v, seed, c.patient_id)
    return offered, second


def screening_outcomes(vaccination: dict[str, dict], cases: dict[str, dict[str, int]], reference: str) -> None:
    """Add to each screening arm's counts its cases of the types it acts on, the cases averted
    against the reference arm and (latent TB) the number needed to screen to avert one active TB
    case (None when none is averted). ``cases``: arm -> type -> events."""
    for arm, v in vaccination.items():
        s = v.get("tb_screening")
        if s is not None and TUBERCULOSIS in cases[arm]:
            averted = cases[reference][TUBERCULOSIS] - cases[arm][TUBERCULOSIS]
            s.update(active_tb_cases=cases[arm][TUBERCULOSIS],
                     reference_arm_active_tb_cases=cases[reference][TUBERCULOSIS], active_tb_cases_averted=averted,
                     number_needed_to_screen=s["n_screened"] / averted if averted > 0 else None)
        z = v.get("vzv_screening")
        if z is not None:
            for t in (VARICELLA, ZOSTER):
                if t in cases[arm]:
                    z[f"{t}_cases"] = cases[arm][t]
                    z[f"{t}_cases_averted"] = cases[reference][t] - cases[arm][t]


def with_disease_activity(schedule: Schedule, model: Model, arm_index: int, patient_id: np.ndarray) -> Schedule:
    """``schedule`` with the arm's disease activity (``model.disease_activity``) under ``model``'s
    values and draw: each patient's controlled interval from the actual treatment start, and the
    (2, K) hazard multipliers uncontrolled / controlled, normalised over the horizon. Applied per
    model (a PSA draw's response probability), not kept with the schedule."""
    from jaksim.kernel.rng import uniforms
    a = model.economics[arm_index].disease_activity
    types = model.arms[arm_index].types
    keys = model.activity_keys
    begin, end = controlled_interval(a.response_probability, a.onset_years, a.loss_of_response_per_year,
                                     schedule.treatment_start, uniforms(keys[0], patient_id, 0),
                                     uniforms(keys[1], patient_id, 0))
    h = np.array([a.infection_hazard_ratio.get(t, 1.0) for t in types], dtype=np.float64)
    share = controlled_share(a.response_probability, a.onset_years, a.loss_of_response_per_year,
                             float(model.scenario.horizon_years))
    return replace(schedule, controlled_from=begin, controlled_until=end,
                   activity_hazard_ratio=activity_multipliers(h, share))


class VaccinationStats:
    """Per-arm counts of vaccinated patients and their timing relative to treatment start."""

    def __init__(self) -> None:
        self.n = self.vaccinated = self.two_doses = self.before_start = self.delayed_start = 0
        #: latent TB screening (arms with ``tb_screening``): patients screened under the strategy, with
        #: latent infection, tested by IGRA / TST, positive, true positive, completing prophylaxis,
        #: cured, with hepatotoxicity
        self.screened = self.latent = self.igra_tests = self.tst_tests = self.positive = 0
        self.true_positive = self.completed = self.cured = self.hepatotoxicity = 0
        #: VZV serostatus (arms with ``vzv_screening``): patients, seronegative, tested, testing
        #: seronegative, given two varicella doses, protected
        self.vzv_patients = self.vzv_seronegative = self.vzv_tested = self.vzv_test_seronegative = 0
        self.varicella_vaccinated = self.varicella_protected = 0

    def add(self, sched: Schedule, follow_up: np.ndarray) -> None:
        """Doses count only when given: before the patient's exit (death or horizon)."""
        s = sched.screening
        if s is not None:
            self.screened += s.latent.shape[0]
            self.latent += int(s.latent.sum())
            self.igra_tests += int(s.tested_igra.sum())
            self.tst_tests += int(s.tested_tst.sum())
            self.positive += int(s.positive.sum())
            self.true_positive += int((s.positive & s.latent).sum())
            self.completed += int(s.completed.sum())
            self.cured += int(s.cured.sum())
            self.hepatotoxicity += int(s.hepatotoxicity.sum())
        z = sched.vzv
        if z is not None:
            self.vzv_patients += z.seronegative.shape[0]
            self.vzv_seronegative += int(z.seronegative.sum())
            self.vzv_tested += int(z.tested.sum())
            self.vzv_test_seronegative += int(z.test_seronegative.sum())
            self.varicella_vaccinated += int(z.vaccinated.sum())
            self.varicella_protected += int(z.protected.sum())
        vacc = sched.dose1 < follow_up
        self.n += vacc.shape[0]
        self.vaccinated += int(vacc.sum())
        self.two_doses += int((sched.dose2 < follow_up).sum())
        self.before_start += int((vacc & (sched.dose1 < sched.treatment_start)).sum())
        self.delayed_start += int((sched.treatment_start > 0).sum())

    def as_dict(self, pathway: PathwayResult | None) -> dict:
        """The counts and shares as written to the manifest; waits in weeks for a clinic arm."""
        out: dict[str, object] = {"n_patients": self.n, "n_vaccinated": self.vaccinated, "n_two_doses": self.two_doses,
               "share_vaccinated": self.vaccinated / max(self.n, 1),
               "share_of_vaccinated_dosed_before_treatment_start": self.before_start / max(self.vaccinated, 1),
               "n_treatment_start_delayed": self.delayed_start}
        if self.screened:
            out["tb_screening"] = {"n_screened": self.screened, "n_latent_infection": self.latent,
                                   "n_igra_tests": self.igra_tests, "n_tst_tests": self.tst_tests,
                                   "n_test_positive": self.positive, "n_true_positive": self.true_positive,
                                   "n_prophylaxis_completed": self.completed, "n_latent_infection_cured": self.cured,
                                   "n_hepatotoxicity": self.hepatotoxicity}
        if self.vzv_patients:
            out["vzv_screening"] = {"n_patients": self.vzv_patients, "n_seronegative": self.vzv_seronegative,
                                    "n_serology_tests": self.vzv_tested,
                                    "n_test_seronegative": self.vzv_test_seronegative,
                                    "n_varicella_vaccinated": self.varicella_vaccinated,
                                    "n_varicella_protected": self.varicella_protected}
        if pathway is not None:
            out.update(clinic_summary(pathway))
        return out


def clinic_summary(pathway: PathwayResult) -> dict[str, float | None]:
    """A clinic's time (s) and its patients' waits from referral to first visit (weeks)."""
    w = pathway.wait_weeks[np.isfinite(pathway.wait_weeks)]
    return {"pathway_seconds": pathway.seconds,
            "wait_weeks_mean": float(w.mean()) if w.size else None,
            "wait_weeks_median": float(np.median(w)) if w.size else None,
            "wait_weeks_p90": float(np.quantile(w, 0.9)) if w.size else None}
