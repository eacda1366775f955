"""Analysis commands of the ``jaksim`` command line: sweep, threshold, evppi, subgroups, one-way, tornado.

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
    scheduler: str | None = typer.Option(
        None, "--scheduler", metavar="WHERE",
        help="Run the variants on Dask: 'local' (a worker per core), 'local:N' or a scheduler address."),
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
    if scheduler is not None:
        from jaksim.run.scaleout import check_scheduler
        check_scheduler(scheduler)
    tables = run_sweep(scenario, grid, n_patients=n_patients, seed=seed, threads=threads, scheduler=scheduler,
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


@app.command("one-way")
@_guarded
def one_way(
    scenario: Path = ScenarioArg,
    ranges: Path = typer.Argument(..., help="Ranges file: key path -> [low, high] (as --set takes keys).",
                                  show_default=False),
    out: Path | None = typer.Option(None, "--out", help="Folder (default: results/<scenario name>_one_way)."),
    n_patients: int | None = typer.Option(None, "--n-patients", parser=_count, metavar="N",
                                             help="Override n_patients of every run."),
    seed: int | None = typer.Option(None, "--seed", help="Override the seed of every run."),
    threads: int | None = typer.Option(None, "--threads", help="Numba threads (default: all cores)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier jaksim result in --out."),
    scheduler: str | None = typer.Option(None, "--scheduler", metavar="WHERE",
                                         help="Run on Dask: 'local', 'local:N' or a scheduler address."),
    debug: bool = Debug,
) -> None:
    """One-way sensitivity over user ranges (each input low and high, common random numbers); draw it
    with jaksim tornado."""
    import pyarrow.parquet as pq

    from jaksim import __version__
    from jaksim.model.spec import build_model
    from jaksim.output.parquet import OutputFolder
    from jaksim.run.one_way import one_way as run_one_way
    from jaksim.scenario import load as config

    if not ranges.is_file():
        raise JaksimError(f"ranges file not found: '{ranges}'")
    sc = config.load_scenario(scenario)
    out = out if out is not None else Path("results") / f"{sc.name}_one_way"
    if scheduler is not None:
        from jaksim.run.scaleout import check_scheduler
        check_scheduler(scheduler)
    err = Console(stderr=True)
    table, econ = run_one_way(scenario, ranges, n_patients=n_patients, seed=seed, threads=threads,
                              scheduler=scheduler,
                              progress=(lambda i, n: err.print(f"run {i}/{n} done")) if err.is_terminal else None)
    spec = build_model(sc, calibrate=False).economics[0]
    folder = OutputFolder(out, overwrite)
    try:
        meta = {b"jaksim.version": __version__.encode(), b"jaksim.ranges_yaml": ranges.read_bytes()}
        for name, t in (("one_way", table), ("economics", econ)):
            pq.write_table(t.replace_schema_metadata(meta), folder.result / f"{name}.parquet")
        arms = [a.name for a in sc.arms]
        folder.commit({"kind": "one_way", "jaksim_version": __version__, "scenario": sc.name, "arms": arms,
                       "reference_arm": arms[0], "currency": spec.currency,
                       "willingness_to_pay": list(spec.willingness_to_pay), "ranges": str(ranges),
                       "tables": {"one_way": "one_way.parquet", "economics": "economics.parquet"}})
    except BaseException:
        folder.abort()
        raise
    n_inputs = (table.num_rows // len(arms) - 1) // 2
    _console().print(f"One-way: {n_inputs} inputs x low/high of {sc.name}, {1 + 2 * n_inputs} runs — {out}/ "
                     f"(draw it: jaksim tornado {out} --measure nmb|icer)")


@app.command()
@_guarded
def tornado(
    psa_dir: Path = typer.Argument(..., help="A PSA folder run with --one-way (jaksim psa --one-way), or a "
                                   "jaksim one-way folder.", show_default=False),
    arm: str | None = typer.Option(None, "--arm", help="The arm compared with the reference (default: every arm)."),
    measure: str = typer.Option("nmb", "--measure", help="nmb (at --wtp), icer, incremental_costs or "
                                "incremental_qalys."),
    wtp: float | None = typer.Option(None, "--wtp", help="Willingness to pay per QALY (for nmb; default: the "
                                     "scenario's first threshold)."),
    top: int = typer.Option(15, "--top", help="Bars in the figure and rows printed."),
    out: Path | None = typer.Option(None, "--out", help="Also write the table (.parquet or .csv)."),
    figure: Path | None = typer.Option(None, "--figure", help="Also draw the diagram (.png, .svg or .pdf); "
                                       "with several arms, one file per arm (_ARM before the suffix)."),
    debug: bool = Debug,
) -> None:
    """One-way sensitivity (tornado) on net benefit at any threshold, or on the ICER, from a PSA folder."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from rich.table import Table

    from jaksim.analysis.tornado import MEASURES, axis_label
    from jaksim.analysis.tornado import tornado as make
    from jaksim.report.labels import parameter_label
    if measure not in MEASURES:
        raise JaksimError(f"--measure {measure!r} is not allowed; allowed: {', '.join(MEASURES)}")
    if top < 1:
        raise JaksimError(f"--top must be at least 1 (got {top})")
    for path, kinds in ((out, (".parquet", ".csv")), (figure, (".png", ".svg", ".pdf"))):
        if path is not None and path.suffix.lower() not in kinds:
            raise JaksimError(f"'{path}': the file name must end in {' or '.join(kinds)}")
    if not (psa_dir / "one_way.parquet").is_file():
        raise JaksimError(f"'{psa_dir}' has no one_way.parquet: run the PSA with --one-way "
                          "(jaksim psa SCENARIO --one-way --out DIR)")
    from jaksim.output.manifest import read_manifest
    try:
        manifest = read_manifest(psa_dir)       # checked, and every file it lists, before reading
        one_way = pq.read_table(psa_dir / "one_way.parquet")
    except (OSError, ValueError) as exc:
        raise JaksimError(f"'{psa_dir}' is not a readable jaksim PSA folder: {type(exc).__name__}: {exc}") from None
    arms = list(manifest.get("arms") or dict.fromkeys(one_way.column("arm").to_pylist()))
    reference = str(manifest.get("reference_arm") or arms[0])
    arms = [reference] + [a for a in arms if a != reference]
    if wtp is None:
        wtp = float((manifest.get("willingness_to_pay") or [30000.0])[0])
    if arm is not None and arm not in arms[1:]:
        raise JaksimError(f"--arm {arm!r} is not a compared arm of this PSA; allowed: {', '.join(arms[1:])}")
    cur = str(manifest.get("currency", ""))
    results = [make(one_way, a, reference, measure, wtp) for a in ([arm] if arm else arms[1:])]
    label = lambda p: parameter_label(p, cur)  # noqa: E731
    if out is not None:
        table = pa.concat_tables([t.table(label) for t in results])
        if out.suffix.lower() == ".csv":
            import pyarrow.csv as pcsv
            pcsv.write_csv(table, out)
        else:
            pq.write_table(table, out)
    for t in results:
        rich = Table(title=f"{axis_label(t, cur)}: {t.arm} versus {t.reference}, base case "
                           f"{t.base:,.2f}{' (' + t.base_note + ')' if t.base_note else ''}")
        for c in ("parameter", "low value", "high value", "outcome at low", "outcome at high", "swing"):
            rich.add_column(c)
        for b in t.bars[:top]:
            rich.add_row(label(b.parameter), f"{b.value_low:.4g}", f"{b.value_high:.4g}", f"{b.outcome_low:,.2f}",
                         f"{b.outcome_high:,.2f}", f"{b.swing:,.2f}" if b.swing == b.swing else b.note)
        _console().print(rich)
        if figure is not None:
            from jaksim.report import figures as fg
            fig = fg.tornado_diagram(t, label, cur, f"One-way sensitivity: {t.arm} versus {t.reference}", top)
            path = figure if len(results) == 1 else figure.with_name(f"{figure.stem}_{t.arm}{figure.suffix}")
            fig.savefig(path, dpi=150)
