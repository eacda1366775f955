"""Varicella-zoster virus (VZV) serostatus at treatment start: an arm's strategy (``vzv_screening``).

With ``vzv_screening`` an arm models who is seronegative (no VZV immunity: primary varicella
possible, zoster not). ``serology`` tests every patient before the planned start; with
``vaccinate_seronegative`` those testing seronegative get two doses of live varicella vaccine
(the first at the planned start, the second ``interval`` later) and start treatment
``weeks_before_treatment`` after the second dose (the live-vaccine rule); with
``zoster_vaccine_seropositive_only`` the arm's zoster vaccination is given only to those
testing seropositive. Numbers come from the library (``varicella_zoster_serostatus``) unless
given here.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from jaksim.scenario.base import Model, Probability, ValueErrorAt


class VzvScreening(Model):
    """An arm's VZV serostatus strategy; a value left out comes from the library."""

    serology: bool = Field(False, description="test VZV IgG before the planned start")
    vaccinate_seronegative: bool = Field(False, description="two live varicella doses for those testing seronegative")
    zoster_vaccine_seropositive_only: bool = Field(
        False, description="give the arm's zoster vaccination only to those testing seropositive")
    seronegative_share: Probability | None = Field(
        None, description="share without VZV immunity at start (default: library, by the patient's region)")
    protection: Probability | None = Field(None, description="share of two-dose vaccinees protected from varicella")
    interval_weeks: float | None = Field(None, ge=4, le=52, description="weeks between the two varicella doses")
    weeks_before_treatment: float | None = Field(
        None, ge=4, le=52, description="weeks from the second live dose to treatment start (at least 4)")

    @model_validator(mode="after")
    def _needs_serology(self):
        for key in ("vaccinate_seronegative", "zoster_vaccine_seropositive_only"):
            if getattr(self, key) and not self.serology:
                raise ValueErrorAt(f"{key} needs the serostatus: set serology: true", at=(key,))
        return self
