"""Scenario section ``economics``: costs, utilities and discounting (currency units, years)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from jaksim.scenario.base import HazardRatio, Model, Name, Probability

Money = Annotated[float, Field(ge=0, le=1e9, description="cost in the scenario's currency and price year")]


class DiscountRates(Model):
    """Annual discount rates (0.035 = 3.5% a year), applied in continuous time."""

    costs: float = Field(ge=0, le=0.5, description="per year, for costs")
    outcomes: float = Field(ge=0, le=0.5, description="per year, for QALYs and life-years")


class EventEconomics(Model):
    """Cost and utility loss of one event type; a missing value comes from the library."""

    cost: Money | None = Field(None, description="per event not hospitalised")
    cost_hospitalised: Money | None = Field(None, description="per hospitalised event")
    utility_decrement: Probability | None = Field(None, description="utility lost while the episode lasts")
    duration_years: float | None = Field(None, ge=0, le=100, description="how long the decrement lasts")


class UtilityFromAge(Model):
    """Baseline utility from a completed age on (until the next entry)."""

    from_age_years: float = Field(ge=0, le=120)
    utility: float = Field(ge=-1, le=1)


class DiseaseActivity(Model):
    """Disease activity, controlled or uncontrolled, so that waiting for, stopping and
    withholding treatment cost QALYs; a missing value comes from the library (by the arm's drug
    and dose for the response probability). Uncontrolled: before treatment starts, until the
    response (onset), in non-responders, after a loss of response and after stopping."""

    response_probability: Probability | None = Field(None, description="share whose disease becomes controlled")
    response_onset_weeks: float | None = Field(None, ge=0, le=104, description="from treatment start to response")
    loss_of_response_per_year: float | None = Field(None, ge=0, le=10, description="rate at which control is lost")
    utility_decrement_uncontrolled: Probability | None = Field(
        None, description="utility lost while disease is uncontrolled (vs controlled)")
    infection_hazard_ratio_uncontrolled: dict[Name, HazardRatio] | None = Field(
        None, description="per infection type, hazard when uncontrolled vs controlled (default: library; "
                          "types not given: 1)")


class Economics(Model):
    """Costs, utilities and discounting (per arm: an arm may override e.g. its drug cost)."""

    currency: Literal["GBP", "USD"] | None = Field(None, description="default: the discount preset's")
    price_year: int | None = Field(None, ge=1900, le=2200)
    discount: Literal["nice", "us"] | DiscountRates = "nice"
    willingness_to_pay: list[Annotated[float, Field(ge=0)]] | None = Field(
        None, min_length=1, description="per QALY; default: the preset's thresholds")
    events: dict[Name, EventEconomics] = {}
    post_herpetic_neuralgia: EventEconomics = EventEconomics()
    vaccine_cost_per_dose: Money | None = None
    vaccine_administration_cost_per_dose: Money | None = None
    drug_cost_per_year: Money = Field(0.0, description="per year on treatment (0: not costed)")
    baseline_utility: list[UtilityFromAge] | None = Field(None, min_length=1,
                                                          description="by completed age; default: library")
    disease_activity: DiseaseActivity | Literal["library"] | None = Field(
        None, description="'library' or values: uncontrolled disease costs QALYs (off when absent)")
