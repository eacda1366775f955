"""Shared factories: a scenario given as a dict → resolved model → kernel output, without files.

The one way tests build a model and run the kernel on a block of patients, so that a change of
the engine's entry points is one edit here (import as ``from factories import ...``).
"""

from __future__ import annotations

import json

from jaksim.cohort.patients import Cohort
from jaksim.model.spec import Model, build_model
from jaksim.run.chunks import ChunkResult, simulate_chunk
from jaksim.scenario.load import scenario_from_text


def model_of(sc: dict, draw: int = 0) -> Model:
    """The model of a scenario dict (validated like a file; ``draw`` keys the PSA draw's streams)."""
    return build_model(scenario_from_text(json.dumps(sc)), draw=draw)


def run_arm(model: Model, arm: int, start: int, stop: int, cap: int = 64, schedule=None) -> ChunkResult:
    """Kernel output of patients ``start..stop-1`` under arm number ``arm``."""
    return simulate_chunk(model, model.arms[arm], model.cohort.block(start, stop), cap, schedule)[0]


def simulate(sc: dict, n: int, arm: int = 0, cap: int = 64) -> tuple[Model, Cohort, ChunkResult]:
    """(model, cohort, kernel output) of patients ``0..n-1`` of one arm of a scenario dict."""
    model = model_of(sc)
    cohort = model.cohort.block(0, n)
    return model, cohort, simulate_chunk(model, model.arms[arm], cohort, cap)[0]
