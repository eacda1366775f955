"""--resume never mixes inputs (issue 17, finding 2), tested from the attacker's side: between
an interrupted run and its resume the cohort file is edited, the library changed, or a
completed part deleted, truncated or altered; each is refused in one line that says what, and
the kept work is left in place. Unchanged inputs resume to the files of an uninterrupted run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import MINIMAL, leftovers, replace, write_scenario
from jaksim.errors import OutputError
from jaksim.model.spec import build_model
from jaksim.run.engine import run_to_folder
from jaksim.scenario.load import load_scenario

N, CHUNK, EVERY = 3000, 500, 1000          # three segments; interrupted in the third


@pytest.fixture
def scenario(tmp_path) -> Path:
    rows = ["age,sex"] + [f"{30 + i % 50},{'F' if i % 3 else 'M'}" for i in range(200)]
    (tmp_path / "patients.csv").write_text("\n".join(rows) + "\n")
    text = replace(MINIMAL, """cohort:
  age: {distribution: truncated_normal, mean_years: 50, sd_years: 10, min_years: 18, max_years: 90}
  female: 0.5
""", "cohort: {from_file: patients.csv}\n")
    return write_scenario(tmp_path, replace(text, "n_patients: 2000", f"n_patients: {N}"))


def _run(scenario: Path, out: Path, **kw):
    return run_to_folder(build_model(load_scenario(scenario)), out, chunk_size=CHUNK, checkpoint_patients=EVERY,
                         threads=1, **kw)


def _interrupt(scenario: Path, out: Path) -> Path:
    """Ctrl-C in the third segment; the hidden work folder with two completed segments."""
    done = [0]

    def progress(n: int) -> None:
        done[0] += n
        if done[0] >= 2500:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(scenario, out, progress=progress)
    (work,) = leftovers(out)
    assert (work / "checkpoint.json").is_file()
    return work


def _refused(scenario: Path, out: Path, work: Path, match: str) -> None:
    with pytest.raises(OutputError, match=match) as info:
        _run(scenario, out, resume=True)
    assert "\n" not in str(info.value) and "--overwrite" in str(info.value)
    assert (work / "checkpoint.json").is_file()              # the kept work is still there


def test_unchanged_inputs_resume_to_the_uninterrupted_files(tmp_path, scenario):
    _run(scenario, tmp_path / "ref")
    _interrupt(scenario, tmp_path / "run")
    _run(scenario, tmp_path / "run", resume=True)
    ref = {p.relative_to(tmp_path / "ref"): p.read_bytes() for p in (tmp_path / "ref").rglob("*.parquet")}
    got = {p.relative_to(tmp_path / "run"): p.read_bytes() for p in (tmp_path / "run").rglob("*.parquet")}
    assert got == ref and len(ref) == 3 * 2 + 1


def test_edited_cohort_file_is_refused(tmp_path, scenario):
    work = _interrupt(scenario, tmp_path / "run")
    csv = scenario.parent / "patients.csv"
    csv.write_text(csv.read_text().replace("\n30,", "\n85,", 1))
    _refused(scenario, tmp_path / "run", work, "changed since: cohort file")


def test_changed_library_is_refused(tmp_path, scenario, monkeypatch):
    import jaksim.library.loader as loader
    library = tmp_path / "library"
    shutil.copytree(loader.library_root(), library, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    monkeypatch.setenv("JAKSIM_LIBRARY", str(library))
    work = _interrupt(scenario, tmp_path / "run")
    with open(library / "parameters.yaml", "a") as f:
        f.write("# edited\n")
    _refused(scenario, tmp_path / "run", work, "changed since: library files")


@pytest.mark.parametrize("damage, match", [
    (lambda p: p.unlink(), "is missing"),
    (lambda p: p.write_bytes(p.read_bytes()[:-100]), "bytes instead of"),
    (lambda p: p.write_bytes(bytes(b ^ 1 if i == 200 else b for i, b in enumerate(p.read_bytes()))),
     "has changed content"),
])
def test_deleted_truncated_or_altered_part_is_refused(tmp_path, scenario, damage, match):
    work = _interrupt(scenario, tmp_path / "run")
    part = work / "result" / "events" / "arm=base" / "part-00001.parquet"
    damage(part)
    _refused(scenario, tmp_path / "run", work, f"part 'events/arm=base/part-00001.parquet' .*{match}")
