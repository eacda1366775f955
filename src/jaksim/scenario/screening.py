"""Latent tuberculosis screening before treatment start: an arm's strategy (``tb_screening``).

Every patient is tested before the planned start with ``test`` (none, IGRA, TST, or IGRA then
TST: positive when either is); a positive test leads to the prophylaxis ``regimen`` and the
treatment starts ``start_after_prophylaxis_weeks`` after the planned start. The numbers
(prevalence of latent infection, test accuracy, completion, efficacy, hepatotoxicity) come from
the library (``latent_tuberculosis`` in ``parameters.yaml``) unless given here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from jaksim.scenario.base import Model, Probability

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
        None, ge=0, le=104, description="weeks from prophylaxis start (the planned start) to treatment start")
