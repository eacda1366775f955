"""The final commit is crash-safe (issue 17, finding 8): a process killed at any of ten moments
around the commit leaves ``--out`` holding the old result or the new one, complete and checked
by its manifest, never neither; the next invocation finishes or cleans up what was left,
without simulating again; finished PSA draws survive a failed final write.

The quick tests "kill" in process: the hook raises and the run's clean-up is switched off, so
the folder is left exactly as a killed process leaves it. The slow test kills real processes
with ``os._exit`` at the same moments.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers import MINIMAL, leftovers, replace, write_scenario
from jaksim.errors import OutputError
from jaksim.model.spec import build_model
from jaksim.output import atomic, folder
from jaksim.output.manifest import read_manifest
from jaksim.run import engine
from jaksim.scenario.load import scenario_from_text

TEXT = replace(MINIMAL, "n_patients: 2000", "n_patients: 600")
#: moments of OutputFolder.commit (its _at hooks), plus two around it
COMMIT_MOMENTS = ["manifest", "fsync", "marker", "rename", "renamed", "cleanup-started", "cleanup-marker-left",
                  "cleaned"]
MOMENTS = ["before-tables", "mid-manifest-write", *COMMIT_MOMENTS]


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs."""


def _run(out: Path, seed: int = 12345, **kw):
    sc = scenario_from_text(replace(TEXT, "seed: 12345", f"seed: {seed}"))
    return engine.run_to_folder(build_model(sc), out, chunk_size=200, checkpoint_patients=300, threads=1, **kw)


def _snapshot(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, dict[str, bytes]]:
    base = tmp_path_factory.mktemp("reference")
    _run(base / "new")
    _run(base / "old", seed=99)
    return {"new": _snapshot(base / "new"), "old": _snapshot(base / "old")}


def _kill_at(monkeypatch, moment: str) -> None:
    """Make the run stop dead at ``moment`` (no clean-up runs afterwards)."""
    monkeypatch.setattr(engine, "_abandon", lambda *args: None)     # a killed process cleans nothing

    def kill(*args, **kwargs):
        raise Killed(moment)
    if moment == "before-tables":
        monkeypatch.setattr(engine, "_write_tables", kill)
    elif moment == "mid-manifest-write":
        def half_write(path, data):                                 # the temp file written, not renamed
            Path(str(path) + ".tmp").write_bytes(data[: len(data) // 2])
            raise Killed(moment)
        monkeypatch.setattr(folder.atomic, "write_atomic", half_write)
    else:
        monkeypatch.setattr(folder, "_at", lambda m: kill() if m == moment else None)


def _check_after_kill(out: Path, results, old: bool) -> str:
    """``out`` holds the old result or the new one, complete and checked; which one."""
    got = _snapshot(out) if out.exists() else {}
    if got == results["new"]:
        read_manifest(out)
        return "new"
    if old:
        assert got == results["old"], sorted(got)
        read_manifest(out)
        return "old"
    assert not out.exists()                    # no earlier result: nothing in place, nothing half-made
    return "none"


def _finish(out: Path, results, monkeypatch) -> None:
    """The next invocation: --resume finishes kept work without simulating, or there is none
    and the new result is in place already; afterwards no hidden folder is left."""
    monkeypatch.undo()
    from jaksim.run import chunks
    monkeypatch.setattr(chunks, "simulate_chunk", lambda *a, **k: pytest.fail("simulated again"))
    try:
        _run(out, resume=True, overwrite=True)
    except OutputError as exc:
        assert "no interrupted run to continue" in str(exc)
    monkeypatch.undo()
    assert _snapshot(out) == results["new"]
    assert leftovers(out) == sorted(out.iterdir())              # no work folder, no lock left


@pytest.mark.parametrize("old", [False, True], ids=["first-run", "overwrite"])
@pytest.mark.parametrize("moment", MOMENTS)
def test_kill_around_the_final_commit(tmp_path, monkeypatch, results, moment, old):
    out = tmp_path / "out"
    if old:
        _run(out, seed=99)
    _kill_at(monkeypatch, moment)
    with pytest.raises(Killed):
        _run(out, overwrite=old)
    state = _check_after_kill(out, results, old)
    after_swap = COMMIT_MOMENTS.index(moment) >= COMMIT_MOMENTS.index("renamed") if moment in COMMIT_MOMENTS else False
    assert state == ("new" if after_swap else ("old" if old else "none"))
    _finish(out, results, monkeypatch)


def test_a_plain_run_after_a_kill_does_not_drop_the_kept_work(tmp_path, monkeypatch, results):
    out = tmp_path / "out"
    _kill_at(monkeypatch, "rename")
    with pytest.raises(Killed):
        _run(out)
    monkeypatch.undo()
    with pytest.raises(OutputError, match="give --resume to continue it"):
        _run(out)
    _finish(out, results, monkeypatch)


def test_leftovers_of_a_commit_that_completed_are_removed_silently(tmp_path, monkeypatch, results):
    out = tmp_path / "out"
    _kill_at(monkeypatch, "cleanup-started")
    with pytest.raises(Killed):
        _run(out)
    monkeypatch.undo()
    assert len(leftovers(out)) > len(list(out.iterdir()))         # the old work folder is still there
    _run(out, overwrite=True)                                     # a new run: no question asked
    assert _snapshot(out) == results["new"] and leftovers(out) == sorted(out.iterdir())


@pytest.mark.parametrize("moment", ["rename", "between-renames", "renamed"])
def test_without_an_atomic_swap_a_kill_between_the_renames_is_repaired(tmp_path, monkeypatch, results, moment):
    out = tmp_path / "out"
    _run(out, seed=99)
    monkeypatch.setattr(atomic, "exchange", lambda a, b: False)
    _kill_at(monkeypatch, moment)
    with pytest.raises(Killed):
        _run(out, overwrite=True)
    if moment == "between-renames":
        assert not out.exists()                                   # the one moment without a result...
        with pytest.raises(OutputError):                          # ...repaired by the next invocation
            _run(out)
        assert _snapshot(out) == results["new"]
    else:
        assert _check_after_kill(out, results, True) == ("new" if moment == "renamed" else "old")
    _finish(out, results, monkeypatch)


def test_parts_and_folders_are_fsynced(tmp_path, monkeypatch):
    synced: list[str] = []
    real_file, real_dir = atomic.fsync_file, atomic.fsync_dir
    monkeypatch.setattr("jaksim.output.parquet.fsync_file", lambda p: (synced.append(f"file:{p}"), real_file(p)))
    monkeypatch.setattr(atomic, "fsync_dir", lambda p: (synced.append(f"dir:{p}"), real_dir(p)))
    out = tmp_path / "out"
    _run(out)
    parts = [p for p in out.rglob("*.parquet")]
    assert all(any(s.startswith("file:") and s.endswith(p.name + ".tmp") for s in synced) for p in parts)
    assert f"dir:{out.parent}" in synced and f"dir:{tmp_path / ('.out.jaksim-tmp-' + str(os.getpid()))}/result" \
        in synced


# ----------------------------------------------------------------------------------- PSA
PSA_TEXT = TEXT.replace("n_patients: 600", "n_patients: 200") + "economics: {discount: nice}\n"


def test_psa_draws_survive_a_failed_final_write_and_resume_reuses_them(tmp_path, capsys, monkeypatch):
    from jaksim.cli import main
    from jaksim.run import psa
    scenario = write_scenario(tmp_path, PSA_TEXT)
    ref, out = tmp_path / "ref", tmp_path / "out"
    assert main(["psa", str(scenario), "--out", str(ref), "--draws", "3", "--threads", "1"]) == 0
    capsys.readouterr()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "outcomes.parquet")
    monkeypatch.setattr(psa.pq, "write_table", full)
    assert main(["psa", str(scenario), "--out", str(out), "--draws", "3", "--threads", "1"]) == 2
    line = capsys.readouterr().err.strip()
    assert "No space left on device" in line and "3 finished draw(s) are kept" in line and "\n" not in line
    monkeypatch.undo()
    monkeypatch.setattr(psa, "_run_once", lambda *a, **k: pytest.fail("a finished draw ran again"))
    assert main(["psa", str(scenario), "--out", str(out), "--draws", "3", "--threads", "1", "--resume"]) == 0
    assert _snapshot(out) == _snapshot(ref)
    assert leftovers(out) == sorted(out.iterdir())


@pytest.mark.parametrize("moment", ["manifest", "rename", "cleanup-started"])
def test_psa_killed_around_its_commit(tmp_path, capsys, monkeypatch, moment):
    from jaksim.cli import main
    from jaksim.run import psa
    scenario = write_scenario(tmp_path, PSA_TEXT)
    ref, out = tmp_path / "ref", tmp_path / "out"
    argv = ["psa", str(scenario), "--draws", "2", "--threads", "1", "--out"]
    assert main([*argv, str(ref)]) == 0
    monkeypatch.setattr("jaksim.cli._psa_failed", lambda *a: None)          # killed: no clean-up
    monkeypatch.setattr(folder, "_at", lambda m: (_ for _ in ()).throw(Killed(m)) if m == moment else None)
    with pytest.raises(Killed):
        main([*argv, str(out)])
    monkeypatch.undo()
    assert not out.exists() or _snapshot(out) == _snapshot(ref)
    monkeypatch.setattr(psa, "_run_once", lambda *a, **k: pytest.fail("a finished draw ran again"))
    code = main([*argv, str(out), "--resume"])
    assert code == (0 if moment != "cleanup-started" else 2)       # after the swap: nothing left to resume
    assert _snapshot(out) == _snapshot(ref) and leftovers(out) == sorted(out.iterdir())


# --------------------------------------------------------------------- real processes
@pytest.mark.slow
@pytest.mark.parametrize("moment", COMMIT_MOMENTS)
def test_real_kill_around_the_final_commit(tmp_path, results, moment):
    out = tmp_path / "out"
    _run(out, seed=99)
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from jaksim.output import folder
        folder._at = lambda m: os._exit(9) if m == {moment!r} else None
        from test_commit_crash import _run
        from pathlib import Path
        _run(Path({str(out)!r}), overwrite=True)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), *sys.path])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 9, proc.stderr
    state = _check_after_kill(out, results, True)
    assert state == ("new" if COMMIT_MOMENTS.index(moment) >= COMMIT_MOMENTS.index("renamed") else "old")
    try:
        _run(out, resume=True, overwrite=True)
    except OutputError as exc:
        assert "no interrupted run to continue" in str(exc)
    assert _snapshot(out) == results["new"] and leftovers(out) == sorted(out.iterdir())
