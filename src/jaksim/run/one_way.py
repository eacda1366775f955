"""One-way sensitivity over ranges the user gives: ``jaksim one-way SCENARIO RANGES.yaml``.

A ranges file maps inputs, by key path as ``--set`` takes them, to a low and a high value::

    economics.vaccine_cost_per_dose: [100, 220]
    arms.rzv_all_before_start.vaccination.uptake: [0.6, 0.95]

The scenario runs once as it is and once with each input at its low and at its high value, the
others as in the scenario, all under common random numbers (the same patients and event clocks:
differences are paired). The result is the PSA's one-way table (``parameter``, ``bound``,
``value``, ``arm``, ``costs``, ``qalys`` per patient), so ``jaksim tornado`` draws it at any
threshold or on the ICER. Inputs with a distribution use ``jaksim psa --one-way`` (their 95% CI).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from jaksim.errors import ScenarioError
from jaksim.scenario.yamlfile import load_yaml_file

#: at most this many inputs in one ranges file (each costs two complete runs)
MAX_INPUTS = 200


def ranges_of(ranges_file: Path) -> dict[str, tuple[float, float]]:
    """The inputs of a ranges file with their (low, high) values, checked (one-line errors)."""
    data, lines, _ = load_yaml_file(ranges_file)
    file = str(ranges_file)
    if not isinstance(data, dict) or not data:
        raise ScenarioError("a ranges file maps key paths to [low, high], e.g. "
                            "'economics.vaccine_cost_per_dose: [100, 220]'", file=file, line=1)
    if len(data) > MAX_INPUTS:
        raise ScenarioError(f"{len(data)} inputs; at most {MAX_INPUTS} in one ranges file", file=file, line=1)
    out = {}
    for key, pair in data.items():
        ok = (isinstance(pair, list) and len(pair) == 2
              and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in pair))
        if not ok:
            raise ScenarioError(f"must be [low, high], two numbers (got {pair!r})", file=file,
                                line=lines.get((key,)), path=str(key))
        if not pair[0] < pair[1]:
            raise ScenarioError(f"low must be below high (got [{pair[0]}, {pair[1]}])", file=file,
                                line=lines.get((key,)), path=str(key))
        out[str(key)] = (float(pair[0]), float(pair[1]))
    return out


def one_way(scenario_file: Path, ranges_file: Path, *, n_patients: int | None = None, seed: int | None = None,
            threads: int | None = None, progress: Callable[[int, int], None] | None = None,
            scheduler: str | None = None) -> tuple[pa.Table, pa.Table]:
    """(one-way table, economics table of every run); every variant is checked before any runs."""
    from jaksim.run.sweep import run_variants
    ranges = ranges_of(ranges_file)
    settings: list[tuple[str, str, float]] = [("", "base", float("nan"))]
    settings += [(k, bound, v) for k, (lo, hi) in ranges.items() for bound, v in (("low", lo), ("high", hi))]
    variants: list[dict[str, object]] = [{k: v} if k else {} for k, _, v in settings]
    tables = run_variants(scenario_file, variants, n_patients=n_patients, seed=seed, threads=threads,
                          progress=progress, scheduler=scheduler)
    if "economics" not in tables:
        raise ScenarioError("the scenario has no economics section; a one-way analysis of costs and QALYs needs "
                            "one (add 'economics: {discount: nice}')", file=str(scenario_file), line=1)
    econ = tables["economics"].to_pydict()
    rows = []
    for i, arm, costs, qalys in zip(econ["variant"], econ["arm"], econ["mean_costs"], econ["mean_qalys"],
                                    strict=True):
        key, bound, value = settings[i]
        rows.append({"parameter": key, "bound": bound, "value": value, "arm": arm, "costs": costs, "qalys": qalys})
    return pa.Table.from_pylist(rows), tables["economics"]
