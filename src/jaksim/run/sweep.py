"""``jaksim sweep SCENARIO GRID.yaml``: scenario variants run under common random numbers, one table.

A grid file lists overrides by key path (as ``--set`` takes them, ``scenario/settings.py``):

    grid:                       # every combination (here 3 x 3 = 9 variants)
      economics.vaccine_cost_per_dose: [100, 150, 200]
      arms.rzv_all_before_start.vaccination.uptake: [0.5, 0.7, 0.9]
    variants:                   # or/and: a list of variants, each a mapping of key path -> value
      - {horizon_years: 10}

Every variant keeps the scenario's seed, so all variants simulate the same patients with the same
event clocks (common random numbers: differences between variants are paired). Each variant's
summary, contrasts and economics tables are those of ``jaksim run`` with the same settings (run here
or, with ``--scheduler``, as tasks on Dask like the PSA's draws), with
``variant`` and one column ``set.<key path>`` per swept key (the value as JSON) in front; they are
written as ``summary.parquet``, ``contrasts.parquet`` and ``economics.parquet`` of the output folder.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from jaksim.errors import ScenarioError
from jaksim.scenario.yamlfile import load_yaml_file

#: at most this many variants in one sweep (a typo in a grid should not start 10^6 runs)
MAX_VARIANTS = 1000


def variants_of(grid_file: Path) -> list[dict[str, object]]:
    """The variants a grid file lists: the grid's combinations, then the listed variants."""
    data, lines, _ = load_yaml_file(grid_file)
    file = str(grid_file)
    if not isinstance(data, dict) or not set(data) <= {"grid", "variants"} or not data:
        raise ScenarioError("a grid file is a mapping with 'grid' (key path -> list of values) and/or "
                            "'variants' (a list of mappings key path -> value)", file=file, line=1)
    out: list[dict[str, object]] = []
    grid = data.get("grid") or {}
    if not isinstance(grid, dict) or any(not isinstance(v, list) or not v for v in grid.values()):
        raise ScenarioError("grid must map each key path to a non-empty list of values", file=file,
                            line=lines.get(("grid",)), path="grid")
    if grid:
        keys = list(grid)
        out += [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]
    listed = data.get("variants") or []
    if not isinstance(listed, list) or any(not isinstance(v, dict) or not v for v in listed):
        raise ScenarioError("variants must be a list of non-empty mappings key path -> value", file=file,
                            line=lines.get(("variants",)), path="variants")
    out += listed
    if len(out) > MAX_VARIANTS:
        raise ScenarioError(f"{len(out)} variants; at most {MAX_VARIANTS} in one sweep", file=file, line=1)
    return out


def settings_of(variant: dict[str, object]) -> list[str]:
    """A variant as ``--set`` settings (values written as JSON, which YAML 1.2 reads back as is)."""
    return [f"{k}={json.dumps(v)}" for k, v in variant.items()]


def _with_columns(table: pa.Table, variant: dict[str, object], keys: list[str], index: int) -> pa.Table:
    cols = {"variant": pa.array([index] * table.num_rows, pa.int32())}
    for k in keys:
        v = variant.get(k)
        cols[f"set.{k}"] = pa.array([json.dumps(v) if v is not None else None] * table.num_rows, pa.string())
    for name, arr in reversed(list(cols.items())):
        table = table.add_column(0, name, arr)
    return table


def _run_variant(scenario, threads: int | None) -> tuple[dict, dict, dict]:
    """One variant run in a temporary folder: (summaries, contrasts, economics) tables by arm.
    A pure function of the scenario, so it runs the same here or as a task on a Dask worker."""
    from jaksim.model.spec import build_model
    from jaksim.run.engine import run_to_folder
    with tempfile.TemporaryDirectory(prefix="jaksim-sweep-") as tmp:
        res = run_to_folder(build_model(scenario), Path(tmp) / "v", threads=threads)
    return res.summaries, res.contrasts, res.economics or {}


def _run_on_cluster(scenarios: list, scheduler: str, threads: int | None,
                    progress: Callable[[int, int], None] | None) -> list[tuple[dict, dict, dict]]:
    """The variants as tasks on Dask (``run.scaleout``); results in variant order."""
    from distributed import as_completed

    from jaksim.run.scaleout import connect
    with connect(scheduler, threads=threads) as cluster:
        futures = [cluster.client.submit(_run_variant, sc, cluster.numba_threads, key=f"jaksim-sweep-{i}")
                   for i, sc in enumerate(scenarios)]
        for done, _ in enumerate(as_completed(futures), start=1):
            if progress:
                progress(done, len(scenarios))
        return cluster.client.gather(futures)


def run_sweep(scenario_file: Path, grid_file: Path, *, n_patients: int | None = None, seed: int | None = None,
              threads: int | None = None, progress: Callable[[int, int], None] | None = None,
              scheduler: str | None = None) -> dict[str, pa.Table]:
    """Run every variant; return the ``summary``, ``contrasts`` and ``economics`` tables of all.

    ``scheduler``: run the variants on Dask (``'local'``, ``'local:N'`` or an address, as for the
    PSA); the tables are identical to a local sweep's."""
    return run_variants(scenario_file, variants_of(grid_file), n_patients=n_patients, seed=seed, threads=threads,
                        progress=progress, scheduler=scheduler)


def run_variants(scenario_file: Path, variants: list[dict[str, object]], *, n_patients: int | None = None,
                 seed: int | None = None, threads: int | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 scheduler: str | None = None) -> dict[str, pa.Table]:
    """``run_sweep`` for a list of variants (each a mapping key path -> value; ``{}``: the scenario)."""
    from jaksim.scenario.load import load_scenario

    keys = list(dict.fromkeys(k for v in variants for k in v))
    scenarios = [load_scenario(scenario_file, settings_of(v)).with_overrides(n_patients=n_patients, seed=seed)
                 for v in variants]          # every variant checked before the first is run
    if scheduler is not None:
        from jaksim.run.scaleout import check_scheduler
        check_scheduler(scheduler)
        results = _run_on_cluster(scenarios, scheduler, threads, progress)
    else:
        results = []
        for i, sc in enumerate(scenarios):
            results.append(_run_variant(sc, threads))
            if progress:
                progress(i + 1, len(variants))
    parts: dict[str, list[pa.Table]] = {"summary": [], "contrasts": [], "economics": []}
    for i, (variant, (summaries, contrasts, economics)) in enumerate(zip(variants, results, strict=True)):
        for arm, t in summaries.items():
            parts["summary"].append(_with_columns(t.add_column(0, "arm", pa.array([arm] * t.num_rows)),
                                                  variant, keys, i))
        for t in contrasts.values():
            parts["contrasts"].append(_with_columns(t, variant, keys, i))
        for t in economics.values():
            parts["economics"].append(_with_columns(t, variant, keys, i))
    return {name: pa.concat_tables(ts, promote_options="default") for name, ts in parts.items() if ts}


def write_sweep(tables: dict[str, pa.Table], scenario_name: str, grid_file: Path, out: Path,
                overwrite: bool = False) -> None:
    """The sweep's tables as Parquet files of ``out``, committed atomically with a manifest."""
    import pyarrow.parquet as pq

    from jaksim import __version__
    from jaksim.output.parquet import OutputFolder
    folder = OutputFolder(Path(out), overwrite)
    try:
        meta = {b"jaksim.version": __version__.encode(), b"jaksim.grid_yaml": grid_file.read_bytes()}
        for name, t in tables.items():
            pq.write_table(t.replace_schema_metadata(meta), folder.result / f"{name}.parquet")
        folder.commit({"kind": "sweep", "jaksim_version": __version__, "scenario": scenario_name,
                       "grid": str(grid_file), "tables": {n: f"{n}.parquet" for n in tables}})
    except BaseException:
        folder.abort()
        raise
