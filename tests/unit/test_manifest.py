"""A result's manifest is checked before the folder is trusted (issue 17, findings 2 and 4):
``jaksim report`` refuses, in one line, a folder whose manifest is not a known jaksim version's
or whose listed files are missing, truncated or changed; ``--overwrite`` replaces only a folder
whose manifest is of a known version."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from helpers import MINIMAL, replace, write_scenario
from jaksim import __version__
from jaksim.cli import main
from jaksim.output.manifest import file_record, known_version

ECONOMICS = "economics: {discount: nice}\n"


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> Path:
    """A finished run with economics (reportable), made once and copied by each test."""
    tmp = tmp_path_factory.mktemp("manifest")
    scenario = write_scenario(tmp, replace(MINIMAL, "n_patients: 2000", "n_patients: 300") + ECONOMICS
                              + "arms:\n  a: {}\n  b: {treatment: {dose_mg: 10}}\n")
    out = tmp / "result"
    assert main(["run", str(scenario), "--out", str(out), "--checkpoint-every", "100", "--chunk-size", "100"]) == 0
    return out


@pytest.fixture
def folder(result, tmp_path) -> Path:
    copy = tmp_path / "result"
    shutil.copytree(result, copy)
    return copy


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "jaksim.json").read_text())


def _report_fails(folder: Path, capsys, *fragments: str) -> str:
    assert main(["report", str(folder)]) == 2
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: '{folder}' is not a readable jaksim result: "), err
    for f in fragments:
        assert f in lines[0], lines[0]
    assert not (folder / "report").exists()
    return lines[0]


def test_the_manifest_lists_every_file_with_size_and_hash(folder):
    files = _manifest(folder)["files"]
    on_disk = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert sorted(files) == [p for p in on_disk if p != "jaksim.json"]
    assert "events/arm=a/part-00002.parquet" in files             # three checkpoint parts
    for rel, (size, sha) in files.items():
        assert file_record(folder / rel) == [size, sha]


def test_report_reads_a_checked_result(folder, capsys):
    assert main(["report", str(folder)]) == 0
    assert (folder / "report.html").is_file()


def test_report_refuses_a_deleted_part(folder, capsys):
    (folder / "events" / "arm=b" / "part-00001.parquet").unlink()
    _report_fails(folder, capsys, "'events/arm=b/part-00001.parquet' is missing")


def test_report_refuses_a_truncated_part(folder, capsys):
    part = folder / "patients" / "arm=a" / "part-00000.parquet"
    part.write_bytes(part.read_bytes()[:-100])
    _report_fails(folder, capsys, "'patients/arm=a/part-00000.parquet' has", "bytes instead of")


def test_report_refuses_a_changed_part(folder, capsys):
    part = folder / "economics" / "arm=b" / "part-00000.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    _report_fails(folder, capsys, "changed content")


@pytest.mark.parametrize("version", ["99.0.0", "banana", "", "0.1"])
def test_report_refuses_an_unknown_version(folder, capsys, version):
    doc = _manifest(folder)
    doc["jaksim_version"] = version
    (folder / "jaksim.json").write_text(json.dumps(doc))
    _report_fails(folder, capsys, "not a version this jaksim", __version__)


@pytest.mark.parametrize("files", [{"../../etc/passwd": [1, "00"]}, {"/etc/passwd": [1, "00"]}, [1],
                                   {"summary/arm=a/part-00000.parquet": "big"}])
def test_report_refuses_a_malformed_file_list(folder, capsys, files):
    doc = _manifest(folder)
    doc["files"] = files
    (folder / "jaksim.json").write_text(json.dumps(doc))
    _report_fails(folder, capsys, "files")


def test_a_result_from_before_files_were_recorded_is_still_read(folder, capsys):
    doc = _manifest(folder)
    del doc["files"]
    (folder / "jaksim.json").write_text(json.dumps(doc))
    assert main(["report", str(folder)]) == 0


def test_known_versions():
    assert known_version(__version__) and known_version("0.0.1")
    assert not known_version("99.0.0") and not known_version(None) and not known_version("0.1.0.dev-x y")


@pytest.mark.parametrize("version", ["99.0.0", "banana"])
def test_overwrite_needs_a_known_version(folder, capsys, version):
    doc = _manifest(folder)
    doc["jaksim_version"] = version
    (folder / "jaksim.json").write_text(json.dumps(doc))
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    scenario = write_scenario(folder.parent, replace(MINIMAL, "n_patients: 2000", "n_patients: 100"))
    assert main(["run", str(scenario), "--out", str(folder), "--overwrite"]) == 2
    line = capsys.readouterr().err.strip()
    assert "not a finished jaksim result" in line and "not a version this jaksim" in line and "\n" not in line
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before
