"""Schema of ``evidence.yaml``: baseline risks and relative effects (NICE DSU TSD 5 structure).

* ``baselines``: incidence of an infection type on the reference treatment (csDMARD) in a
  described population, per indication (registries, long-term cohorts, placebo arms);
* ``trials``: the randomised (or not) studies the relative effects come from;
* ``relative_effects``: a ratio (hazard, incidence-rate, odds or risk ratio) of one treatment
  against another for one infection type, with its 95% CI and the trial behind it. Effects
  chain through common comparators to the reference treatment (``model/evidence.py``).

A treatment is a drug (and dose; no dose = every dose of the drug) or a drug class
(``{drug_class: tnf_inhibitor}``). Units: rates per 100 patient-years, follow-up in years.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from jaksim.library.schema import CI, NonNegative, PlausibleRatio, PopulationMakeUp, Positive, _Sourced, _Strict


class Treatment(_Strict):
    """A drug at a dose, every dose of a drug (``dose_mg`` left out), or a drug class."""

    drug: str | None = None
    dose_mg: NonNegative | None = None
    drug_class: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Treatment:
        if (self.drug is None) == (self.drug_class is None):
            raise ValueError("give either drug (with dose_mg, or without for every dose) or drug_class")
        if self.drug_class is not None and self.dose_mg is not None:
            raise ValueError("a drug_class has no dose_mg")
        return self


class Population(PopulationMakeUp):
    """Make-up of a study population, described (null: not reported; calibration then assumes a default)."""

    description: str


class ArmCount(_Strict):
    """What a study reported for one arm (any of these may be missing)."""

    n: Annotated[int, Field(ge=0)] | None = None
    events: Annotated[int, Field(ge=0)] | None = None
    person_years: Positive | None = None
    rate_per_100py: NonNegative | None = None
    ci95_per_100py: CI | None = None


class ArmData(_Strict):
    treatment: ArmCount
    comparator: ArmCount


class Trial(_Strict):
    """A study that relative effects come from."""

    id: str
    name: str
    registration: str | None = None
    indication: str
    randomised: bool
    design: str
    population: Population | None = None
    citation: str
    doi: str | None = None
    note: str | None = None


class Baseline(_Sourced):
    """Incidence of one infection type on the reference treatment, per 100 patient-years."""

    id: str
    indication: str
    type: str
    treatment: Treatment
    rate_per_100py: Annotated[float, Field(gt=0, le=1000)]
    ci95_per_100py: CI | None = None
    measure: Literal["first_event", "all_events"]
    events: Annotated[int, Field(ge=0)] | None = None
    person_years: Positive | None = None
    population: Population
    read_from: str | None = None


class RelativeEffect(_Sourced):
    """A ratio of ``treatment`` to ``comparator`` for one infection type, with its 95% CI.

    ``role: input`` effects build the evidence network; ``role: check`` ones (e.g. a
    published network meta-analysis) are kept to compare against, never used to simulate.
    """

    id: str
    trial: str | None = None
    pooled_from: list[str] | None = None
    indication: str | None = None    # None: every indication (e.g. placebo taken as the reference)
    type: str | None = None          # None: every infection type
    treatment: Treatment
    comparator: Treatment
    measure: Literal["hazard_ratio", "incidence_rate_ratio", "odds_ratio", "risk_ratio"]
    ratio: PlausibleRatio
    ci95: CI | None = None
    randomised: bool
    role: Literal["input", "check"] = "input"
    arm_data: ArmData | None = None
    follow_up: str | None = None
    read_from: str | None = None


class DoseOrderException(_Sourced):
    """A drug whose randomised evidence shows a lower risk at its higher dose (documented)."""

    drug: str
    type: str


class EvidenceFile(_Strict):
    """``evidence.yaml``: the reference treatment, baselines, trials and relative effects."""

    reference_treatment: Treatment
    class_effects: list[str] = []     # drug classes whose members are taken to share one effect
    trials: list[Trial] = []
    baselines: list[Baseline] = []
    relative_effects: list[RelativeEffect] = []
    dose_order_exceptions: list[DoseOrderException] = []
