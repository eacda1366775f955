"""A clinic with limited weekly appointment slots (the care pathway: ``pathway/clinic.py``).

Used by a zoster vaccination strategy (``vaccination.clinic``) and by latent TB screening
(``tb_screening.clinic``): patients' planned treatment starts are spread over the enrolment
period, each is referred a fixed time before it and books the earliest free slot (first come,
first served).
"""

from __future__ import annotations

from pydantic import Field

from jaksim.scenario.base import Model, Probability


class Clinic(Model):
    """A clinic with limited appointment slots (care pathway)."""

    slots_per_week: int = Field(ge=0, le=10_000_000, description="appointments available per week")
    enrolment_weeks: float = Field(52.0, gt=0, le=5200,
                                   description="planned treatment starts spread evenly over this period")
    no_show_probability: Probability = Field(0.0, description="a booked patient does not attend; rebooked")
    max_wait_weeks: float = Field(52.0, gt=0, le=520, description="referrals not seen by then are not seen")
