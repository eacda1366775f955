"""Schema of the care-pathway sections of the library: latent tuberculosis and VZV serostatus
(``parameters.yaml``) and their costs (``economics.yaml``), checked when a file is loaded.

Split from ``schema.py`` (one module per concern); the models are as strict as theirs.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from jaksim.library.schema_base import CI, EconomicValue, RatePer100PY, Share, _Sourced, _Strict


class Probability(_Sourced):
    """A share or probability with its source (and a 95% CI or range where one was read)."""

    value: Share
    ci95: CI | None = None


class ByBurden(_Strict):
    """One entry per background TB incidence of the setting (``background_incidence``)."""

    low: Probability
    medium: Probability
    high: Probability


class BcgBySetting(_Strict):
    low: bool
    medium: bool
    high: bool


class TestAccuracy(_Strict):
    """Sensitivity and specificity of a latent TB test (specificity by BCG vaccination)."""

    sensitivity: Probability
    specificity_bcg_unvaccinated: Probability
    specificity_bcg_vaccinated: Probability


class LatentTbTests(_Strict):
    igra: TestAccuracy
    tst: TestAccuracy


class Prophylaxis(_Strict):
    """A preventive regimen for latent TB: length, completion, protection of completers, liver harm."""

    weeks: Annotated[float, Field(gt=0, le=104)]
    completion: Probability
    efficacy: Probability
    hepatotoxicity: Probability


class WeeksValue(_Sourced):
    value: Annotated[float, Field(ge=0, le=104)]


class LatentTuberculosis(_Strict):
    """Latent TB at the start, screening tests and prophylaxis regimens (``model/latent_tb.py``)."""

    prevalence: ByBurden
    reactivation_share: Probability
    bcg_vaccinated: BcgBySetting
    tests: LatentTbTests
    prophylaxis: dict[Literal["9H", "4R", "3HP"], Prophylaxis]
    result_weeks: WeeksValue
    start_after_prophylaxis_weeks: WeeksValue


class RateValue(_Sourced):
    value: RatePer100PY
    ci95: CI | None = None


class Serology(_Strict):
    sensitivity: Probability
    specificity: Probability


class VaricellaVaccine(_Strict):
    """Live attenuated varicella vaccine for seronegative patients: two doses before the start."""

    protection: Probability
    interval_weeks: WeeksValue
    weeks_before_treatment: WeeksValue


class VaricellaZosterSerostatus(_Strict):
    """VZV immunity at the start, serology and varicella vaccination (``model/vzv_serostatus.py``)."""

    seronegative_share: dict[str, Probability]
    serology: Serology
    force_of_infection_per_100py: RateValue
    vaccine: VaricellaVaccine

    @model_validator(mode="after")
    def _regions(self):
        from jaksim.codes import REGIONS
        unknown = [r for r in self.seronegative_share if r not in REGIONS]
        if unknown or "unspecified" not in self.seronegative_share:
            raise ValueError(f"seronegative_share needs 'unspecified' and region names of {', '.join(REGIONS)} "
                             f"(got {', '.join(self.seronegative_share)})")
        return self



class ScreeningCosts(_Strict):
    """Latent TB screening: a test per screened patient, the work-up of a positive test, each
    regimen's course (a non-completer costs ``non_completer_share`` of it)."""

    igra_test: EconomicValue
    tst_test: EconomicValue
    positive_work_up: EconomicValue
    prophylaxis: dict[Literal["9H", "4R", "3HP"], EconomicValue]
    non_completer_share: EconomicValue


class VzvCosts(_Strict):
    """VZV serostatus strategies: serology per tested patient, live varicella vaccine per dose."""

    serology_test: EconomicValue | None = None
    varicella_vaccine_per_dose: EconomicValue
    administration_per_dose: EconomicValue
