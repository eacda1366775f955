"""A killed or interrupted run continues from its last checkpoint (`jaksim run --resume`) and
ends with the same files, byte for byte, as a run that was never stopped.

A hard kill is made real: a child process runs the engine and leaves with ``os._exit`` (no
clean-up, like SIGKILL) in the middle of a segment. Deterministic: no timing involved.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers import leftovers
from jaksim.cli import main
from jaksim.errors import OutputError
from jaksim.model import spec
from jaksim.run import engine
from jaksim.scenario import load as config

ROOT = Path(__file__).resolve().parents[2]
#: six arms (one capacity-limited), vaccination schedules, economics and paired contrasts
SCENARIO = ROOT / "scenarios" / "ra_tofacitinib_zoster_vaccination.yaml"
ARMS = len(config.load_scenario(SCENARIO).arms)
N, CHUNK, EVERY = 6000, 1000, 2500      # segments 0-2500, 2500-5000, 5000-6000


def _model(seed: int | None = None) -> spec.Model:
    sc = config.load_scenario(SCENARIO).with_overrides(n_patients=N, seed=seed)
    return spec.build_model(sc)


def _run(out: Path, **kw) -> engine.RunSummary:
    return engine.run_to_folder(_model(kw.pop("seed", None)), out, chunk_size=CHUNK, checkpoint_patients=EVERY,
                                threads=1, **kw)


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file's bytes; in the manifest, the capacity-limited arm's measured SimPy time
    (``pathway_seconds``, a duration that differs between any two runs) is left out."""
    snap = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    manifest = json.loads(snap["jaksim.json"])
    for arm in manifest["vaccination"].values():
        assert arm.pop("pathway_seconds", 0.0) >= 0.0
    snap["jaksim.json"] = json.dumps(manifest, sort_keys=True).encode()
    return snap


def _kill_midway(out: Path, after_patients: int) -> None:
    """A child process runs the same call and dies without clean-up once ``after_patients``
    patients (all arms) have been simulated."""
    code = textwrap.dedent(f"""
        import os, sys
        sys.path[:0] = [{str(Path(__file__).parent)!r}, {str(Path(__file__).parents[1])!r}]
        from test_resume import _run
        from pathlib import Path
        done = [0]
        def progress(n):
            done[0] += n
            if done[0] >= {after_patients}:
                os._exit(9)
        _run(Path({str(out)!r}), progress=progress)
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 9, p.stderr


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("ref") / "run"
    _run(out)
    return _snapshot(out)


def test_layout_has_one_part_per_segment(reference):
    parts = sorted(k for k in reference if k.startswith("events/arm="))
    arms = {k.split("/")[1] for k in parts}
    assert len(arms) == ARMS == 6
    assert parts == sorted(f"events/{a}/part-{k:05d}.parquet" for a in arms for k in range(3))
    assert "checkpoint.json" not in reference


@pytest.mark.slow
def test_killed_run_resumes_to_identical_files(tmp_path, reference):
    out = tmp_path / "run"
    _kill_midway(out, after_patients=ARMS * (EVERY + 1500))        # inside the second segment
    assert not out.exists()                                   # nothing half-written in place
    hidden = leftovers(out)
    assert len(hidden) == 1 and (hidden[0] / "checkpoint.json").is_file()
    assert not list(hidden[0].rglob("part-00001.parquet"))    # the unfinished segment never landed
    _run(out, resume=True)
    assert _snapshot(out) == reference
    assert leftovers(out) == sorted(out.iterdir())            # no hidden folder left


@pytest.mark.slow
def test_killed_before_the_first_checkpoint_leaves_nothing_to_resume(tmp_path, reference):
    out = tmp_path / "run"
    _kill_midway(out, after_patients=ARMS * 1000)
    with pytest.raises(OutputError, match="no interrupted run to continue"):
        _run(out, resume=True)
    _run(out)                                                 # starts afresh without asking
    assert _snapshot(out) == reference


@pytest.mark.slow
def test_a_new_run_does_not_silently_drop_completed_work(tmp_path, reference):
    out = tmp_path / "run"
    _kill_midway(out, after_patients=ARMS * (EVERY + 100))
    with pytest.raises(OutputError, match="--resume to continue it, or --overwrite"):
        _run(out)
    _run(out, overwrite=True)                                 # the user chose to start again
    assert _snapshot(out) == reference
    assert leftovers(out) == sorted(out.iterdir())


@pytest.mark.slow
def test_resume_with_other_settings_is_refused_and_keeps_the_partial_run(tmp_path, reference):
    out = tmp_path / "run"
    _kill_midway(out, after_patients=ARMS * (EVERY + 100))
    with pytest.raises(OutputError, match="other settings"):
        _run(out, resume=True, seed=99)
    _run(out, resume=True)                                    # the right settings still resume
    assert _snapshot(out) == reference


def test_ctrl_c_keeps_completed_segments_and_says_how_to_resume(tmp_path, reference):
    out = tmp_path / "run"
    done = [0]

    def progress(n):
        done[0] += n
        if done[0] >= ARMS * (2 * EVERY + 500):
            raise KeyboardInterrupt
    with pytest.raises(engine.RunInterrupted, match=r"first 5,000 of 6,000 patients .* --resume"):
        _run(out, progress=progress)
    _run(out, resume=True)
    assert _snapshot(out) == reference


@pytest.mark.slow
def test_cli_resume(tmp_path, capsys, reference):
    out = tmp_path / "run"
    _kill_midway(out, after_patients=ARMS * (EVERY + 100))
    argv = ["run", str(SCENARIO), "--n-patients", str(N), "--chunk-size", str(CHUNK), "--threads", "1",
            "--checkpoint-every", str(EVERY), "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--resume" in err[0]
    assert main(argv + ["--resume"]) == 0
    capsys.readouterr()
    assert _snapshot(out) == reference


def test_cli_default_checkpoint_interval_is_the_engines():
    import inspect

    from jaksim import cli
    default = inspect.signature(cli.run).parameters["checkpoint_every"].default.default
    assert default == engine.CHECKPOINT_PATIENTS


def test_parts_read_back_in_patient_order(tmp_path):
    """Twelve parts (so part 10 must sort after part 2): pandas, polars, DuckDB and R's arrow
    list a partition's files in name order, and the zero-padded names keep patient-id order."""
    import numpy as np
    import pyarrow.dataset as ds
    out = tmp_path / "run"
    engine.run_to_folder(_model(), out, chunk_size=CHUNK, checkpoint_patients=500, threads=1)
    arm = sorted((out / "patients").iterdir())[0]
    assert len(list(arm.glob("*.parquet"))) == 12
    ids = ds.dataset(arm, format="parquet").to_table(columns=["patient_id"])["patient_id"].to_numpy()
    np.testing.assert_array_equal(ids, np.arange(N))


@pytest.mark.slow
def test_files_do_not_depend_on_chunk_size_within_segments(tmp_path, reference):
    """Chunks of 700 do not divide the 2,500-patient segments (the last chunk of a segment is
    cut at its end): the same files as chunks of 1,000."""
    out = tmp_path / "run"
    engine.run_to_folder(_model(), out, chunk_size=700, checkpoint_patients=EVERY, threads=2)
    assert _snapshot(out) == reference


# ------------------------------------------------------------------------------------ PSA
def _psa_cli_killed(scenario: Path, out: Path, after_draws: int, draws: int) -> None:
    """`jaksim psa` in a child process that dies without clean-up after ``after_draws`` draws."""
    code = textwrap.dedent(f"""
        import os
        from jaksim import cli
        from jaksim.run import psa
        real, n = psa._run_once, [0]
        def run_once(*a, **k):
            if n[0] == {after_draws}:
                os._exit(9)
            n[0] += 1
            return real(*a, **k)
        psa._run_once = run_once
        cli.main(["psa", {str(scenario)!r}, "--draws", "{draws}", "--n-patients", "300", "--threads", "1",
                  "--out", {str(out)!r}])
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 9, p.stderr


@pytest.mark.slow
def test_killed_psa_resumes_to_identical_tables(tmp_path, scenario_writer, capsys):
    from test_economics import ECON_SCENARIO
    path = scenario_writer(ECON_SCENARIO)
    ref, out = tmp_path / "ref", tmp_path / "psa"
    argv = ["psa", str(path), "--draws", "6", "--n-patients", "300", "--threads", "1"]
    assert main(argv + ["--out", str(ref)]) == 0
    _psa_cli_killed(path, out, after_draws=4, draws=6)
    hidden = leftovers(out)
    assert len(hidden) == 1 and len(list(hidden[0].rglob("draw-*.json"))) == 4
    assert main(argv + ["--out", str(out)]) == 2            # kept work is not dropped silently
    assert "--resume" in capsys.readouterr().err
    assert main(["run", str(path), "--n-patients", "300", "--out", str(out), "--resume"]) == 2
    assert "interrupted PSA, not a run" in capsys.readouterr().err
    assert main(argv + ["--out", str(out), "--resume"]) == 0
    capsys.readouterr()
    assert _snapshot_psa(out) == _snapshot_psa(ref)
    assert not [p for p in out.rglob("*.json") if p.name != "jaksim.json"]   # no checkpoint or draw file
    assert leftovers(out) == sorted(out.iterdir())


def test_psa_store_skips_finished_draws(tmp_path):
    """Draws in the store are not run again (the progress counts them at once), and results
    equal a run without the store; another scenario is refused."""
    from test_economics import ECON_SCENARIO

    from jaksim.run import psa
    from jaksim.run.checkpoint import DrawStore
    sc = config.scenario_from_text(ECON_SCENARIO).with_overrides(n_patients=300)
    store = DrawStore(tmp_path / "draws", sc)
    first = psa.run_psa(sc, [0, 1, 2], threads=1, store=store)
    calls, real = [], psa._run_once
    try:
        psa._run_once = lambda *a, **k: calls.append(a[1]) or real(*a, **k)
        again = psa.run_psa(sc, [0, 1, 2, 3], threads=1, store=DrawStore(tmp_path / "draws", sc))
    finally:
        psa._run_once = real
    assert calls == [3]
    plain = psa.run_psa(sc, [0, 1, 2, 3], threads=1)
    assert again.outcomes.equals(plain.outcomes)
    assert first.outcomes.equals(plain.outcomes.filter(plain.outcomes["draw"].to_numpy() < 3))
    assert again.cycles.equals(plain.cycles) and again.summary.equals(plain.summary)
    with pytest.raises(OutputError, match="another scenario"):
        DrawStore(tmp_path / "draws", sc.with_overrides(seed=sc.seed + 1))


def _snapshot_psa(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_ctrl_c_during_a_psa_keeps_finished_draws(tmp_path, scenario_writer, capsys, monkeypatch):
    from test_economics import ECON_SCENARIO

    from jaksim.run import psa
    path = scenario_writer(ECON_SCENARIO)
    out = tmp_path / "psa"
    argv = ["psa", str(path), "--draws", "5", "--n-patients", "300", "--threads", "1", "--out", str(out)]
    real, n = psa._run_once, [0]

    def interrupted(*a, **k):
        if n[0] == 2:
            raise KeyboardInterrupt
        n[0] += 1
        return real(*a, **k)
    monkeypatch.setattr(psa, "_run_once", interrupted)
    assert main(argv) == 130
    assert "2 finished draw(s) are kept" in capsys.readouterr().err
    monkeypatch.setattr(psa, "_run_once", real)
    assert main(argv + ["--resume"]) == 0
    capsys.readouterr()
    assert main(["psa", str(path), "--draws", "5", "--n-patients", "300", "--threads", "1",
                 "--out", str(tmp_path / "ref")]) == 0
    capsys.readouterr()
    assert _snapshot_psa(out) == _snapshot_psa(tmp_path / "ref")
