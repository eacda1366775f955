"""Latent tuberculosis screening before treatment start: an arm's strategy (``tb_screening``).

Every patient is tested before the planned start with ``test`` (none, IGRA, TST, or IGRA then
TST: positive when either is); a positive test leads to the prophylaxis ``regimen`` and the
treatment starts ``start_after_prophylaxis_weeks`` after the planned start. The numbers
(prevalence of latent infection, test accuracy, completion, efficacy, hepatotoxicity) come from
the library (``latent_tuberculosis`` in ``parameters.yaml``) unless given here. With a
``clinic`` (limited testing slots), each patient is referred ``referral_weeks_before_start``
before the planned start and tested at the first free slot; treatment waits for a result that
comes after the planned start, and a patient not seen within ``max_wait_weeks`` starts
untested.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from jaksim.scenario.base import Model, Probability
from jaksim.scenario.clinic import Clinic

TbTest = Literal["none", "igra", "tst", "igra_then_tst"]
Regimen = Literal["9H", "4R", "3HP"]


class TbScreening(Model):
    """An arm's latent TB screening strategy; a value left out comes from the library."""

    test: TbTest = Field(description="none, igra, tst, or igra_then_tst (both tests; positive when either is)")
    prophylaxis: Regimen = Field("4R", description="regimen after a positive test: 9H, 4R or 3HP")
    latent_prevalence: Probability | None = Field(
        None, description="share with latent infection at start (default: library, by the setting of "
                          "infections.tuberculosis.background_incidence)")
    reactivation_share: Probability | None = Field(
        None, description="share of active TB on treatment that is reactivation of latent infection")
    sensitivity: Probability | None = Field(None, description="of the strategy's test (both tests: of the pair)")
    specificity: Probability | None = Field(None, description="of the strategy's test (both tests: of the pair)")
    completion: Probability | None = Field(None, description="share of those starting prophylaxis who complete it")
    efficacy: Probability | None = Field(None, description="share of completers with latent infection cured")
    hepatotoxicity: Probability | None = Field(None, description="grade 3-4 hepatotoxicity per course started")
    start_after_prophylaxis_weeks: float | None = Field(
        None, ge=0, le=104, description="weeks from prophylaxis start (the result) to treatment start")
    referral_weeks_before_start: float = Field(
        4.0, ge=0, le=104, description="weeks before the planned start at which the test is booked (clinic)")
    result_weeks: float | None = Field(None, ge=0, le=12, description="test to result, weeks (default: library)")
    clinic: Clinic | None = Field(
        None, description="limited testing capacity: the test date comes from the care pathway, and treatment "
                          "waits for a result that comes after the planned start")
