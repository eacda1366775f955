"""Command line: ``jaksim validate``, ``run``, ``psa``, ``report``, ``export``, ``schema``, ``params``.

User mistakes print one line (file:line: key path: problem) and exit with code 2; internal
faults exit with code 1. ``--debug`` shows the traceback.
"""

from __future__ import annotations

import errno
import functools
import sys
import time
import traceback
from pathlib import Path

import typer
from rich.console import Console

from jaksim.errors import JaksimError
from jaksim.run.settings import CHECKPOINT_PATIENTS, CHUNK_PATIENT_ARMS, MIN_DEFAULT_CHUNK

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Simulate infection risk in patients treated with JAK inhibitors.")

def _guarded(command):
    """Turn user mistakes into one line + exit 2, internal faults into one line + exit 1."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)
        debug = bool(kwargs.get("debug"))
        if command.__name__ not in _START_UP_WITHOUT_COLLECTION:
            from jaksim.run.memory import resume_collection
            resume_collection()
        try:
            return command(*args, **kwargs)
        except JaksimError as exc:
            if debug:
                traceback.print_exc()
            err.print("error: " + " ".join(str(exc).splitlines()), markup=False)  # always one line
            if kwargs.get("all_errors"):             # validate --all-errors: every problem (up to 20)
                for more in getattr(exc, "more", []):
                    err.print("error: " + " ".join(str(more).splitlines()), markup=False)
            raise typer.Exit(2) from None
        except KeyboardInterrupt as exc:
            err.print(str(exc) or "interrupted; nothing was written to the results folder", markup=False)
            raise typer.Exit(130) from None
        except OSError as exc:
            if exc.errno not in _ENVIRONMENT_ERRORS:
                raise _internal(err, exc, debug) from None
            if debug:
                traceback.print_exc()
            name = f" '{exc.filename}'" if exc.filename else ""
            err.print(f"error: cannot read or write{name}: {exc.strerror}", markup=False)
            raise typer.Exit(2) from None
        except Exception as exc:  # internal fault
            raise _internal(err, exc, debug) from None
    return wrapper


#: commands that keep the cyclic garbage collector paused (main) after they start: ``run`` until its
#: first chunk is simulated (_with_progress), ``validate`` to its end
_START_UP_WITHOUT_COLLECTION = ("run", "validate")

#: OS errors caused by the machine or the user's files, not by jaksim: full or read-only disk, ...
_ENVIRONMENT_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG,
                       errno.ENAMETOOLONG}


def _internal(err: Console, exc: BaseException, debug: bool) -> typer.Exit:
    """Print an internal fault in one line (traceback with --debug); the exit to raise."""
    if debug:
        traceback.print_exception(exc)
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    err.print(f"internal error: {text} (run again with --debug for the traceback; please report it)", markup=False)
    return typer.Exit(1)


def _count(text: str) -> int:
    """A whole number written as in scenario files: ``100000``, ``100_000``, ``1e5``."""
    raw = str(text).strip().replace("_", "")
    try:
        value = float(raw)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a number; write e.g. 100000, 100_000 or 1e5") from None
    if not value.is_integer() or abs(value) >= 2 ** 53:
        raise typer.BadParameter(f"{text!r} is not a whole number; write e.g. 100000, 100_000 or 1e5")
    return int(raw) if raw.lstrip("+-").isdigit() else int(value)


ScenarioArg = typer.Argument(..., help="Scenario YAML file.", show_default=False)
Debug = typer.Option(False, "--debug", help="Show tracebacks of errors.")
Settings = typer.Option([], "--set", metavar="KEY.PATH=VALUE",
                        help="Change one value of the scenario (repeatable), e.g. --set horizon_years=10 or "
                             "--set arms.tofa10.treatment.dose_mg=10; checked like the file.")
Force = typer.Option(False, "--force", help="Run even when the estimated disk, time or memory exceeds this machine.")
OutOption = typer.Option(None, "--out", help="Results folder (default: results/<scenario name>).")


def _out_path(out: str | None, default: Path) -> Path:
    """The results folder of ``--out`` (``default`` when not given); an empty one is an error."""
    if out is None:
        return default
    if not out.strip() or "\0" in out:
        raise JaksimError(f"--out {out!r} is not a folder path; give one, e.g. --out results/my_run")
    return Path(out)


@app.command()
@_guarded
def validate(scenario: Path = ScenarioArg, settings: list[str] = Settings, force: bool = Force,
             all_errors: bool = typer.Option(False, "--all-errors", help="List every problem of the file "
                                             "(up to 20, one line each), not only the first."),
             debug: bool = Debug) -> None:
    """Check a scenario file (structure, value ranges, library look-ups, run size) without simulating."""
    from jaksim.model.frailty import describe_frailty
    from jaksim.model.spec import build_model
    from jaksim.report.assumptions import assumption_share, status_counts
    from jaksim.run.budget import check_run_size
    from jaksim.scenario import load as config
    from jaksim.scenario.schema import DEFAULT_APPLIES_TO
    sc = config.load_scenario(scenario, settings)
    model = build_model(sc, calibrate=False)     # every check; calibration (scipy) only when simulating
    check_run_size(sc, out=Path("results") / sc.name, force=force)
    _warn(model.warnings)
    arms = ", ".join(a.name for a in sc.arms)
    types = ", ".join(sc.arms[0].infections)
    c = status_counts(model)
    console = _console()
    console.print(f"{scenario}: valid — '{sc.name}', {sc.n_patients:,} patients, "
                  f"{sc.horizon_years:g} years, arms: {arms}; infection types: {types}")
    console.print(f"evidence: {sc.evidence}" + (f"; user library: {sc.library}" if sc.library else "")
                  + f"; a rate typed as a plain number applies to the {DEFAULT_APPLIES_TO.replace('_', ' ')} "
                  "(write {value: x, applies_to: population} for your cohort's rate)")
    console.print(describe_frailty(model.arms[0].provenance))
    console.print(f"resolved values: {c['read']} read, {c['computed']} computed, {c['assumption']} assumed, "
                  f"{c['scenario']} from the scenario file — {100 * assumption_share(c):.0f}% of the values taken "
                  "from the library are assumptions")


@app.command()
@_guarded
def run(
    scenario: Path = ScenarioArg,
    out: str | None = OutOption,
    n_patients: int | None = typer.Option(None, "--n-patients", parser=_count, metavar="N",
                                             help="Override n_patients (e.g. 100000 or 1e5)."),
    seed: int | None = typer.Option(None, "--seed", help="Override seed."),
    evidence: str | None = typer.Option(None, "--evidence", help="Override the evidence set: relative_effects "
                                        "or programme_rates."),
    threads: int | None = typer.Option(None, "--threads", help="Numba threads (default: all cores)."),
    chunk_size: int | None = typer.Option(None, "--chunk-size", parser=_count, metavar="N",
                                           help=f"Patients simulated per chunk (memory bound; default: "
                                           f"{CHUNK_PATIENT_ARMS:,} patient-arms, at least "
                                           f"{MIN_DEFAULT_CHUNK:,} patients)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier jaksim result in --out."),
    resume: bool = typer.Option(False, "--resume", help="Continue a killed or interrupted run to --out from its "
                                "last checkpoint (same scenario and options)."),
    checkpoint_every: int = typer.Option(CHECKPOINT_PATIENTS, "--checkpoint-every", parser=_count, metavar="N",
                                         help="Patients between checkpoints: each is one Parquet part of events "
                                         "and patients per arm."),
    settings: list[str] = Settings,
    cycle_length: float | None = typer.Option(None, "--cycle-length", metavar="YEARS",
                                              help="Also write a per-cycle table (cycles/) with cycles of this "
                                              "many years: at risk, person-years, events, transition "
                                              "probabilities (Markov inputs)."),
    force: bool = Force,
    debug: bool = Debug,
) -> None:
    """Simulate every arm of a scenario and write events, patients and summary as Parquet."""
    from jaksim.model.kept_roots import keeping_roots
    from jaksim.model.spec import build_model
    from jaksim.output.parquet import OutputFolder
    from jaksim.report.tables import contrast_table, print_summary, screening_table, vaccination_table, vzv_table
    from jaksim.run import engine
    from jaksim.run.budget import check_run_size
    from jaksim.run.memory import keep_freed_memory
    from jaksim.scenario import load as config

    keep_freed_memory()          # this process only: chunks reuse freed pages instead of faulting in new ones
    sc = config.load_scenario(scenario, settings).with_overrides(n_patients=n_patients, seed=seed,
                                                                 evidence=evidence)
    out_dir = _out_path(out, Path("results") / sc.name)
    engine.check_settings(chunk_size, checkpoint_every, threads)
    # --out (a folder, writable, not locked, no kept work dropped) before any calibration or pathway work
    folder = OutputFolder(out_dir, overwrite, resume=resume)
    try:
        with keeping_roots():     # calibration roots kept for the next run of this scenario (start-up)
            model = build_model(sc)
        check_run_size(sc, out=out_dir, force=force, overridden=n_patients is not None)
    except BaseException:
        folder.release() if folder.resumed else folder.abort()
        raise
    console = _console()
    started = time.perf_counter()
    result = _with_progress(sc.n_patients * len(model.arms), lambda progress: engine.run_to_folder(
        model, out_dir, chunk_size=chunk_size, threads=threads, progress=progress, folder=folder,
        checkpoint_patients=checkpoint_every, cycle_length=cycle_length))
    seconds = time.perf_counter() - started
    print_summary(console, result.summaries, f"{sc.name}: {sc.n_patients:,} patients × {len(model.arms)} arm(s), "
                                             f"{sc.horizon_years:g} years, seed {sc.seed}")
    if any(a.vaccination is not None for a in model.arms):
        console.print(vaccination_table(result.vaccination))
    if any(a.tb_screening is not None for a in model.arms):
        console.print(screening_table(result.vaccination))
    if any(a.vzv is not None for a in model.arms):
        console.print(vzv_table(result.vaccination))
    if result.contrasts:
        console.print(contrast_table(result.contrasts, model.arms[0].name))
    if result.economics:
        from jaksim.report.tables import economics_table
        console.print(economics_table(result.economics, model.economics[0].willingness_to_pay))
    extra = (", economics" if result.economics else "") + (", cycles" if result.cycles else "")
    from jaksim.model.frailty import describe_frailty
    console.print(describe_frailty(model.arms[0].provenance))
    console.print(f"Results: {out_dir}/ (events, patients, summary{extra} as Parquet) — {seconds:.1f} s")
    _warn(model.warnings)          # after the work: an error stays the only line on stderr


@app.command()
@_guarded
def psa(
    scenario: Path = ScenarioArg,
    draws: int = typer.Option(1000, "--draws", parser=_count, metavar="N",
                               help="Number of PSA draws (draws 0 .. N-1)."),
    first_draw: int = typer.Option(0, "--first-draw", help="First draw number (to split a PSA into parts)."),
    out: str | None = typer.Option(None, "--out", help="PSA folder (default: results/<scenario name>_psa)."),
    n_patients: int | None = typer.Option(None, "--n-patients", parser=_count, metavar="N",
                                             help="Override n_patients (per draw; e.g. 100000 or 1e5)."),
    seed: int | None = typer.Option(None, "--seed", help="Override seed."),
    threads: int | None = typer.Option(None, "--threads", help="Numba threads (default: all cores)."),
    one_way: bool = typer.Option(False, "--one-way", help="Also run the one-way (tornado) analysis."),
    scheduler: str | None = typer.Option(
        None, "--scheduler", metavar="WHERE",
        help="Run the draws on Dask: 'local' (a worker per core), 'local:N' or a scheduler address "
             "(tcp://host:8786); same results as without."),
    processes: int | None = typer.Option(
        None, "--processes", metavar="N",
        help="Worker processes of this machine for the draws (default: every core when there are at least "
             "32 draws per core, else 1: this process); same results as with 1."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier jaksim result in --out."),
    resume: bool = typer.Option(False, "--resume", help="Continue a killed or interrupted PSA to --out: draws "
                                "already finished are not run again (same scenario and options)."),
    settings: list[str] = Settings,
    force: bool = Force,
    debug: bool = Debug,
) -> None:
    """Probabilistic sensitivity analysis: every uncertain library parameter drawn per draw."""
    from jaksim.output.parquet import OutputFolder
    from jaksim.run import checkpoint
    from jaksim.run import psa as psa_mod
    from jaksim.run.budget import check_run_size
    from jaksim.run.memory import keep_freed_memory
    from jaksim.scenario import load as config

    keep_freed_memory()          # this process only: chunks reuse freed pages instead of faulting in new ones
    if draws < 1 or first_draw < 0:
        raise JaksimError(f"--draws must be at least 1 and --first-draw at least 0 (got {draws}, {first_draw})")
    if scheduler is not None:
        from jaksim.run.scaleout import check_scheduler
        check_scheduler(scheduler)
    psa_mod.process_count(processes, draws, None)       # a bad --processes is reported before any work
    sc = config.load_scenario(scenario, settings).with_overrides(n_patients=n_patients, seed=seed)
    from jaksim.model.spec import build_model as _build
    warnings = _build(sc, calibrate=False).warnings    # printed after the work (an error stays one line)
    out_dir = _out_path(out, Path("results") / f"{sc.name}_psa")
    if threads is not None:
        from jaksim.run.chunks import set_threads
        set_threads(threads)
    check_run_size(sc, out=out_dir, draws=draws, force=force, overridden=n_patients is not None)
    folder = OutputFolder(out_dir, overwrite, resume=resume)   # finished draws are kept in it as they come
    err = Console(stderr=True)
    started = time.perf_counter()
    ids = range(first_draw, first_draw + draws)
    try:
        store = checkpoint.open_draw_store(folder, sc, out_dir)
        if err.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
            with Progress(TextColumn("PSA draws"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                          console=err, transient=True) as bar:
                task = bar.add_task("psa", total=draws)
                result = psa_mod.run_psa(sc, ids, threads=threads, one_way=one_way, scheduler=scheduler,
                                         progress=lambda n: bar.advance(task, n), store=store, processes=processes)
        else:
            result = psa_mod.run_psa(sc, ids, threads=threads, one_way=one_way, scheduler=scheduler, store=store,
                                     processes=processes)
        psa_mod.write_psa(result, sc, out_dir, overwrite, folder=folder)
    except BaseException as exc:
        _psa_failed(exc, folder, out_dir)
        raise
    seconds = time.perf_counter() - started
    from jaksim.report.tables import psa_table
    _console().print(psa_table(result))
    _console().print(f"PSA: {draws} draws × {sc.n_patients:,} patients × {len(result.arms)} arms, "
                     f"{result.parameters.num_columns - 1} uncertain parameters — {out_dir}/ — {seconds:.1f} s")
    _warn(warnings)


@app.command()
@_guarded
def report(folder: Path = typer.Argument(..., help="A run folder (jaksim run) or PSA folder (jaksim psa)."),
           out: Path | None = typer.Option(None, "--out", help="The HTML file (default: FOLDER/report.html); "
                                           "figures go to report_figures/ beside it."),
           debug: bool = Debug) -> None:
    """One self-contained HTML report (figures embedded, no network): scenario and provenance, tables,
    cumulative incidence and Kaplan-Meier curves, rates by stratum, vaccination, cost-effectiveness,
    parameters with sources, CHEERS 2022 checklist; figures also as 300-dpi PNG and SVG."""
    from jaksim.report.html import write_html_report
    path = write_html_report(folder, out)
    _console().print(f"{path} (figures: {path.parent / 'report_figures'}/)")



@app.command()
@_guarded
def export(folder: Path = typer.Argument(..., help="A run folder (jaksim run) or PSA folder (jaksim psa)."),
           format: str = typer.Option("csv", "--format", help="csv: one file per table; xlsx: one workbook, "
                                      "a sheet per table."),
           out: Path | None = typer.Option(None, "--out", help="Where to write (default: FOLDER/export)."),
           tables: str | None = typer.Option(None, "--tables", metavar="A,B", help="Only these tables "
                                             "(comma-separated)."),
           debug: bool = Debug) -> None:
    """Every table as CSV or Excel; a PSA also as dampack/BCEA matrices (costs, effects, parameters)."""
    from jaksim.output.export import export as write
    only = [t.strip() for t in tables.split(",") if t.strip()] if tables else None
    for p in write(folder, format, out, only):
        _console().print(str(p))



@app.command()
@_guarded
def schema(debug: bool = Debug) -> None:
    """Print the JSON Schema of the scenario file format (for editors: jaksim schema > jaksim.schema.json)."""
    import json

    from jaksim.scenario.file_schema import file_schema
    sys.stdout.write(json.dumps(file_schema(), indent=2) + "\n")






@app.command()
@_guarded
def params(drug: str | None = typer.Option(None, "--drug", help="Only this drug."),
           type_: str | None = typer.Option(None, "--type", help="Only this infection type."),
           section: str | None = typer.Option(None, "--section", help="Only one of: baselines, relative_effects, "
                                              "rates, profiles, frailty, screening, serostatus, vaccines, "
                                              "economics."),
           library: Path | None = typer.Option(None, "--library", help="A user library YAML file to merge in."),
           markdown: bool = typer.Option(False, "--markdown", help="Print the whole library as Markdown "
                                         "(the text of docs/parameters.md)."),
           debug: bool = Debug) -> None:
    """List the library: baselines, relative effects, programme rates, vaccines and economics, with sources."""
    from jaksim.library import load_library
    from jaksim.library.user import with_user_library
    from jaksim.report import library_tables as lt
    lib = load_library()
    if library is not None:
        if not library.is_file():
            raise JaksimError(f"--library '{library}' is not a file; give the path of a user library YAML file")
        lib = with_user_library(lib, library)
    if markdown:
        from jaksim.report.parameter_document import parameters_markdown
        sys.stdout.write(parameters_markdown(lib))
        return
    if drug is not None and drug not in lib.drugs:
        raise JaksimError(f"--drug '{drug}' is not in the library; allowed: {', '.join(sorted(lib.drugs))}")
    if type_ is not None and type_ not in lib.infection_types:
        raise JaksimError(f"--type '{type_}' is not in the library; allowed: {', '.join(lib.infection_types)}")
    if section is not None and section not in lt.SECTIONS:
        raise JaksimError(f"--section '{section}' is not a library section; allowed: {', '.join(lt.SECTIONS)}")
    console = _console()
    for table in lt.section_tables(lib, [section] if section else list(lt.SECTIONS), drug, type_):
        console.print(table)

def _with_progress(total: int, work):
    """``work(progress)`` with a progress bar on a terminal for runs of 200,000 patient-arms or more.

    ``progress`` is called after each chunk; the first call ends the start-up (the garbage
    collector is resumed, :func:`jaksim.run.memory.resume_collection`)."""
    from jaksim.run.memory import resume_collection
    err = Console(stderr=True)
    if not (err.is_terminal and total >= 200_000):
        return work(lambda n: resume_collection())
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    with Progress(TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task("run", total=total)

        def advance(n: int) -> None:
            resume_collection()
            bar.advance(task, n)
        return work(advance)


def _warn(warnings) -> None:
    """Each warning as one line on stderr (values echoed as text, never as markup)."""
    for w in warnings:
        sys.stderr.write(f"warning: {w}\n")


def _psa_failed(exc: BaseException, folder, out_dir: Path) -> None:
    """After a PSA failed: keep the finished draws for --resume (any failure but a user mistake,
    such as Ctrl-C, a full disk or a failed final write; any failure of a resumed PSA) or remove
    the work folder; raise the one-line error to show instead of ``exc``, if any."""
    from jaksim.output.parquet import unwritable
    from jaksim.run import checkpoint
    from jaksim.run.engine import RunInterrupted
    kept = checkpoint.count_draws(folder.tmp)
    if folder.resumed or (kept and not isinstance(exc, JaksimError)):
        folder.release()
    else:
        folder.abort()
        kept = 0
    if isinstance(exc, OSError):
        more = (f"; {kept} finished draw(s) are kept: run the same command with --resume when there is room"
                if kept else "")
        raise unwritable(out_dir, exc, more) from None
    if isinstance(exc, KeyboardInterrupt) and kept:
        raise RunInterrupted(f"interrupted; {kept} finished draw(s) are kept: run the same command with --resume "
                             "to continue") from None


def _console() -> Console:
    """Console for results: real width on a terminal, wide enough for tables in a pipe or file.

    Never markup or emoji: text from the user (paths, names) is printed as written."""
    c = Console(markup=False, emoji=False)
    return c if c.is_terminal else Console(width=200, markup=False, emoji=False)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``jaksim`` console script; returns the exit code.

    With ``argv=None`` (the console script, ``python -m jaksim.cli``) the process starts without
    the cyclic garbage collector (:func:`jaksim.run.memory.pause_collection`; resumed when the
    command's start-up is over) and ends at once when the command is done (:func:`_end_process`);
    with ``argv`` given (tests, embedding) the code is returned and the interpreter is left alone.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if argv is None:     # the process is jaksim's: start up without the cyclic garbage collector
        from jaksim.run.memory import pause_collection
        pause_collection()
    code = 0
    try:
        app(args=args, prog_name="jaksim", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    if argv is None:
        _end_process(code)
    return code


def _end_process(code: int) -> None:
    """End the process without the interpreter's teardown, once nothing is left to do.

    The interpreter's teardown (numba's compiled code, the library's objects) took 0.45 s of
    a warm 1,000-patient run and 0.13 s of ``jaksim validate`` (issue 11). By now results are
    written and closed and Dask clusters closed; atexit handlers still run (temporary
    folders' finalizers, Dask's) and the standard streams are flushed. Skipped, with a normal
    exit, while any other thread is alive.
    """
    import atexit
    import os
    import threading

    if threading.active_count() > 1:
        return
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):   # closed pipe (e.g. '| head') or closed stream
            pass
    os._exit(code)


# the analysis commands (sweep, threshold, evppi, subgroups) live in cli_tools.py and register on `app`
from jaksim import cli_tools  # noqa: E402,F401

if __name__ == "__main__":
    sys.exit(main())
