"""Analysis commands of the ``jaksim`` command line: sweep, threshold, evppi, subgroups.

They register on the one typer ``app`` of :mod:`jaksim.cli` (imported at its end), with the same
one-line error handling; kept here so that each module stays small.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from jaksim.cli import Debug, ScenarioArg, _console, _count, _guarded, app
from jaksim.errors import JaksimError


@app.command()
@_guarded
def sweep(
    scenario: Path = ScenarioArg,
    grid: Path = typer.Argument(..., help="Grid file: 'grid' (key path -> list of values) and/or 'variants'.",
                                show_default=False),
    out: Path | None = typer.Option(None, "--out", help="Sweep folder (default: results/<scenario name>_sweep)."),
    n_patients: int | None = typer.Option(None, "--n-patients", parser=_count, metavar="N",
                                             help="Override n_patients of every variant."),
    seed: int | None = typer.Option(None, "--seed", help="Override the seed of every variant."),
    threads: int | None = typer.Option(None, "--threads", help="Numba threads (default: all cores)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier jaksim result in --out."),
    debug: bool = Debug,
) -> None:
    """Run scenario variants (a grid or list of --set overrides) under common random numbers into one table."""
    from jaksim.run.sweep import run_sweep, write_sweep
    from jaksim.scenario import load as config

    if not grid.is_file():
        raise JaksimError(f"grid file not found: '{grid}'")
    name = config.load_scenario(scenario).name
    out = out if out is not None else Path("results") / f"{name}_sweep"
    err = Console(stderr=True)
    tables = run_sweep(scenario, grid, n_patients=n_patients, seed=seed, threads=threads,
                       progress=(lambda i, n: err.print(f"variant {i}/{n} done")) if err.is_terminal else None)
    write_sweep(tables, name, grid, out, overwrite)
    s = tables["summary"]
    _console().print(f"Sweep: {s.column('variant').to_numpy().max() + 1} variants of {name} — {out}/ "
                     f"({', '.join(f'{t}.parquet' for t in tables)})")


@app.command()
@_guarded
def threshold(
    scenario: Path = ScenarioArg,
    key: str = typer.Option(..., "--key", help="The input to vary, as --set takes it (e.g. "
                            "economics.vaccine_cost_per_dose)."),
    arm: str = typer.Option(..., "--arm", help="The arm compared with the reference (first) arm."),
    wtp: float = typer.Option(30000.0, "--wtp", help="Willingness to pay per QALY."),
    low: float = typer.Option(..., "--low", help="Lower end of the search range."),
    high: float = typer.Option(..., "--high", help="Upper end of the search range."),
    n_patients: int | None = typer.Option(None, "--n-patients", parser=_count, metavar="N",
                                             help="Override n_patients."),
    seed: int | None = typer.Option(None, "--seed", help="Override seed."),
    debug: bool = Debug,
) -> None:
    """The value of one input at which an arm's ICER against the reference equals the threshold."""
    from jaksim.analysis.threshold import threshold as find
    if not low < high:
        raise JaksimError(f"--low must be below --high (got {low:g}, {high:g})")
    r = find(scenario, key, arm, wtp, low, high, n_patients=n_patients, seed=seed)
    console = _console()
    if r.value is None:
        (x0, d0), (x1, d1) = r.evaluations[0], r.evaluations[1]
        console.print(f"No threshold in [{low:g}, {high:g}]: incremental net benefit of '{arm}' vs "
                      f"'{r.reference}' at {wtp:,.0f}/QALY is {d0:,.2f} at {x0:g} and {d1:,.2f} at {x1:g} "
                      "(same sign); widen the range")
        return
    console.print(f"{key} = {r.value:.6g}: '{arm}' vs '{r.reference}' has an ICER of {wtp:,.0f} per QALY "
                  f"(incremental net benefit 0), found in {len(r.evaluations)} runs under common random numbers")


@app.command()
@_guarded
def evppi(
    psa_dir: Path = typer.Argument(..., help="A PSA folder (jaksim psa --out).", show_default=False),
    parameter: list[str] = typer.Option([], "--parameter", help="A parameter (column of parameters.parquet); "
                                        "repeat for a group, e.g. --parameter a --parameter b."),
    each: bool = typer.Option(False, "--each", help="EVPPI of every drawn parameter on its own."),
    wtp: float = typer.Option(30000.0, "--wtp", help="Willingness to pay per QALY."),
    debug: bool = Debug,
) -> None:
    """Expected value of partial perfect information (Gaussian-process regression, Strong et al. 2014)."""
    import pyarrow.parquet as pq
    from rich.table import Table

    from jaksim.analysis.voi import psa_evppi
    try:
        outcomes = pq.read_table(psa_dir / "outcomes.parquet").to_pandas()
        params = pq.read_table(psa_dir / "parameters.parquet").to_pandas()
    except (OSError, ValueError) as exc:
        raise JaksimError(f"'{psa_dir}' is not a readable jaksim PSA folder (outcomes.parquet, parameters.parquet): "
                          f"{type(exc).__name__}") from None
    names = [c for c in params.columns if c != "draw"]
    groups = [[n] for n in names] if each else [list(parameter)]
    if not groups or not groups[0]:
        raise JaksimError("give --parameter NAME (repeat for a group) or --each")
    try:
        rows = psa_evppi(outcomes, params, groups, wtp)
    except KeyError as exc:
        raise JaksimError(f"not a PSA parameter of this folder: {exc.args[0]}; "
                          f"allowed: {', '.join(names)[:800]}") from None
    t = Table(title=f"EVPPI per patient at {wtp:,.0f} per QALY ({params.shape[0]} draws)")
    for c in ("parameters", "EVPPI", "SE", "EVPI"):
        t.add_column(c)
    for r in sorted(rows, key=lambda r: -r.evppi):
        t.add_row(", ".join(r.parameters), f"{r.evppi:,.2f}", f"{r.se:,.2f}", f"{r.evpi:,.2f}")
    _console().print(t)


@app.command()
@_guarded
def subgroups(
    folder: Path = typer.Argument(..., help="A run folder (jaksim run --out).", show_default=False),
    by: str = typer.Option("age", "--by", help="age, glucocorticoid_band, indication, region, female, asia, "
                           "prior_zoster, diabetes, zoster_vaccinated, chronic_lung_disease or concomitant_csdmard."),
    age_bands: str = typer.Option("50,65,75", "--age-bands", help="Band edges of baseline age (years)."),
    wtp: float = typer.Option(30000.0, "--wtp", help="Willingness to pay per QALY (net benefit)."),
    out: Path | None = typer.Option(None, "--out", help="Also write the table as Parquet to this file."),
    debug: bool = Debug,
) -> None:
    """Events, contrasts and net benefit by subgroup of a baseline characteristic (paired across arms)."""
    from rich.table import Table

    from jaksim.analysis.subgroups import subgroup_table
    if not (folder / "jaksim.json").is_file():
        raise JaksimError(f"'{folder}' is not a jaksim run folder (no jaksim.json)")
    try:
        edges = [float(x) for x in age_bands.split(",") if x.strip()]
    except ValueError:
        raise JaksimError(f"--age-bands must be numbers separated by commas (got '{age_bands}')") from None
    t = subgroup_table(folder, by, wtp, edges)
    if out is not None:
        import pyarrow.parquet as pq
        pq.write_table(t, out)
    rows = t.to_pylist()
    table = Table(title=f"By {by}: versus '{rows[0]['reference_arm']}' (paired, 95% CI)" if rows else by)
    econ = bool(rows) and "net_benefit" in rows[0]
    for c in ("subgroup", "arm", "patients") + (("incr. costs", "incr. QALYs", "incr. net benefit (95% CI)",
                                                "optimal") if econ else ()):
        table.add_column(c)
    for r in rows:
        cells = [str(r["subgroup"]), r["arm"], f"{r['n_patients']:,}"]
        if econ:
            cells += [f"{r['incremental_costs']:,.1f}", f"{r['incremental_qalys']:.5f}",
                      f"{r['incremental_net_benefit']:,.1f} ({r['incremental_net_benefit_ci_lower']:,.1f} to "
                      f"{r['incremental_net_benefit_ci_upper']:,.1f})", "yes" if r.get("optimal") else ""]
        table.add_row(*cells)
    _console().print(table)
