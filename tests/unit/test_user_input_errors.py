"""Issue 17, finding 9: user input that gave "internal error" (exit 1) or a late or garbled
message gets one line with file, line and key path, exit 2; ``--out`` is checked before any
simulation or pathway work; echoed values are printed as written, never as rich markup."""

from __future__ import annotations

import errno
import os

import pytest

from helpers import MINIMAL, leftovers, line_of, replace, write_scenario
from jaksim.cli import main

AGE_AND_SEX = ("  age: {distribution: truncated_normal, mean_years: 50, sd_years: 10, min_years: 18, "
               "max_years: 90}\n  female: 0.5")
ECONOMICS = "economics:\n  discount: nice\n"


def _line(capsys) -> str:
    captured = capsys.readouterr()
    lines = [x for x in captured.err.splitlines() if x.strip()]
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ") and "internal error" not in lines[0] and "Traceback" not in captured.err
    return lines[0]


def _rejects(tmp_path, capsys, text: str, where: str, *fragments: str, command: str = "validate",
             files: dict[str, bytes] | None = None) -> str:
    for name, content in (files or {}).items():
        (tmp_path / name).write_bytes(content)
    scenario = tmp_path / "scenario.yaml"
    scenario.write_bytes(text.encode("utf-8"))
    out = tmp_path / "out"
    argv = [command, str(scenario)] + (["--out", str(out), "--n-patients", "50"] if command == "run" else [])
    assert main(argv) == 2
    line = _line(capsys)
    assert line.startswith(f"error: {scenario}:{where}"), line
    for f in fragments:
        assert f in line, line
    assert leftovers(out) == []
    return line


@pytest.mark.parametrize("command", ["validate", "run"])
def test_nul_byte_in_the_yaml(tmp_path, capsys, command):
    text = replace(MINIMAL, "drug: tofacitinib", "drug: tofa\0citinib")
    _rejects(tmp_path, capsys, text, f"{line_of(text, 'drug:')}: ", "U+0000 (NUL)", "column 13", command=command)


def test_control_character_in_a_comment(tmp_path, capsys):
    text = MINIMAL + "# note \x07\n"
    _rejects(tmp_path, capsys, text, f"{line_of(text, '# note')}: ", "U+0007")


def test_utf16_life_table(tmp_path, capsys):
    table = "age,male_qx,female_qx\n" + "".join(f"{a},0.01,0.01\n" for a in range(121))
    text = replace(MINIMAL, "  rate_per_100py: 1.0", "  life_table: table.csv")
    _rejects(tmp_path, capsys, text, f"{line_of(text, 'life_table')}: mortality.life_table: ", "table.csv",
             "UTF-16", "save it as UTF-8", command="run", files={"table.csv": table.encode("utf-16")})


def test_life_table_not_utf8(tmp_path, capsys):
    text = replace(MINIMAL, "  rate_per_100py: 1.0", "  life_table: table.csv")
    _rejects(tmp_path, capsys, text, f"{line_of(text, 'life_table')}: mortality.life_table: ", "not UTF-8",
             files={"table.csv": b"age,male_qx,female_qx\n0,0.01,\xe90.01\n"})


def test_empty_baseline_utility(tmp_path, capsys):
    text = MINIMAL + ECONOMICS + "  baseline_utility: []\n"
    _rejects(tmp_path, capsys, text, f"{line_of(text, 'baseline_utility')}: economics.baseline_utility: ",
             "at least one item", "got []", command="run")


def test_empty_willingness_to_pay(tmp_path, capsys):
    text = MINIMAL + ECONOMICS + "  willingness_to_pay: []\n"
    _rejects(tmp_path, capsys, text, f"{line_of(text, 'willingness')}: economics.willingness_to_pay: ",
             "at least one item")


@pytest.mark.parametrize("header", ["age,sex,age", "age,sex,AGE"])
def test_duplicate_column_in_a_cohort_file(tmp_path, capsys, header):
    text = replace(MINIMAL, AGE_AND_SEX, "  from_file: patients.csv")
    _rejects(tmp_path, capsys, text, f"{line_of(text, 'from_file')}: cohort.from_file: ", "patients.csv",
             "appears more than once", command="run", files={"patients.csv": f"{header}\n50,F,3\n".encode()})


def test_deep_nesting(tmp_path, capsys):
    text = MINIMAL + "description: " + "{a: " * 2000 + "1" + "}" * 2000 + "\n"
    _rejects(tmp_path, capsys, text, f"{line_of(text, 'description')}: description.a.a.", "nesting deeper")


def test_wrong_key_path_of_a_discount_rate_is_fixed(tmp_path, capsys):
    text = MINIMAL + "economics:\n  discount: {costs: 2, outcomes: 0.03}\n"
    line = _rejects(tmp_path, capsys, text, f"{line_of(text, 'discount')}: economics.discount.costs: ", "0.5")
    assert "DiscountRates" not in line


def test_typed_rate_blames_its_value_not_the_number_form(tmp_path, capsys):
    text = replace(MINIMAL, "{rate_per_100py: 5.0}", "{rate_per_100py: {value: -1, applies_to: population}}")
    _rejects(tmp_path, capsys, text, f"{line_of(text, 'infection_a')}: infections.infection_a.rate_per_100py.value: ",
             "greater than or equal to 0")


# ----------------------------------------------------------------------------- --out
def _run(tmp_path, *argv: str) -> int:
    scenario = write_scenario(tmp_path, replace(MINIMAL, "n_patients: 2000", "n_patients: 200"))
    return main(["run", str(scenario), *argv])


def test_empty_out(tmp_path, capsys):
    assert _run(tmp_path, "--out", "") == 2
    assert _line(capsys) == "error: --out '' is not a folder path; give one, e.g. --out results/my_run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.yaml"]


@pytest.mark.parametrize("why", [errno.EACCES, errno.EROFS, errno.ENOSPC])
def test_out_that_cannot_be_written(tmp_path, capsys, monkeypatch, why):
    from jaksim.output import lock

    def refuse(self):
        raise OSError(why, os.strerror(why), str(self.path))
    monkeypatch.setattr(lock.FolderLock, "acquire", refuse)
    out = tmp_path / "out"
    assert _run(tmp_path, "--out", str(out)) == 2
    line = _line(capsys)
    assert line.startswith(f"error: --out '{out}': cannot write there ({os.strerror(why)}:") and "\n" not in line
    assert leftovers(out) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder(tmp_path, capsys):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        assert _run(tmp_path, "--out", str(parent / "out")) == 2
        assert "cannot write there (Permission denied" in _line(capsys)
    finally:
        parent.chmod(0o755)


def test_out_under_a_file(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert _run(tmp_path, "--out", str(tmp_path / "file" / "out")) == 2
    assert "cannot write there" in _line(capsys)


def test_full_disk_while_writing_keeps_the_completed_segments(tmp_path, capsys, monkeypatch):
    from jaksim.output import parquet
    closed = [0]
    original = parquet.RowGroupWriter.close

    def close(self):
        closed[0] += 1
        if closed[0] > 2:             # the first segment's two parts land, then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.tmp))
        original(self)
    monkeypatch.setattr(parquet.RowGroupWriter, "close", close)
    out = tmp_path / "out"
    assert _run(tmp_path, "--out", str(out), "--checkpoint-every", "100", "--chunk-size", "50") == 2
    line = _line(capsys)
    assert "No space left on device" in line and "the first 100 of 200 patients are kept" in line
    assert "--resume" in line
    monkeypatch.setattr(parquet.RowGroupWriter, "close", original)
    assert _run(tmp_path, "--out", str(out), "--checkpoint-every", "100", "--chunk-size", "50", "--resume") == 0


def test_out_is_checked_before_any_model_or_pathway_work(tmp_path, capsys, monkeypatch):
    import jaksim.model.spec as spec

    def never(*args, **kwargs):
        raise AssertionError("the model was built before --out was checked")
    monkeypatch.setattr(spec, "build_model", never)
    (tmp_path / "taken").write_text("a file")
    assert _run(tmp_path, "--out", str(tmp_path / "taken")) == 2
    assert "is a file, not a folder" in _line(capsys)


def test_psa_out_is_checked_before_any_draw(tmp_path, capsys, monkeypatch):
    from jaksim.run import psa
    monkeypatch.setattr(psa, "run_psa", lambda *a, **k: (_ for _ in ()).throw(AssertionError("ran")))
    scenario = write_scenario(tmp_path, MINIMAL + ECONOMICS)
    (tmp_path / "taken").write_text("a file")
    assert main(["psa", str(scenario), "--out", str(tmp_path / "taken"), "--draws", "2"]) == 2
    assert "is a file, not a folder" in _line(capsys)


# -------------------------------------------------------------------------- report
@pytest.mark.parametrize("content, why", [
    ("{not json", "not valid JSON (line 1)"),
    ("[1, 2]", "not a JSON object"),
    ('{"jaksim_version": "0.1.0"}', "'arms' must be a list of arm names"),
    ('{"jaksim_version": "0.1.0", "arms": ["../../etc"], "reference_arm": "../../etc", "tables": {}}',
     "'arms' must be a list of arm names"),
    ("\xff\xfe{}", "not valid JSON"),
    ('{"jaksim_version": NaN}', "not valid JSON"),
])
def test_corrupt_manifest_given_to_report(tmp_path, capsys, content, why):
    folder = tmp_path / "result"
    folder.mkdir()
    (folder / "jaksim.json").write_bytes(content.encode("latin-1"))
    assert main(["report", str(folder)]) == 2
    line = _line(capsys)
    assert line.startswith(f"error: '{folder}' is not a readable jaksim result: ") and why in line, line
    assert sorted(p.name for p in folder.iterdir()) == ["jaksim.json"]       # no report folder made


# -------------------------------------------------------------------------- markup
def test_echoed_values_are_not_markup_or_emoji(tmp_path, capsys):
    text = replace(MINIMAL, "drug: tofacitinib", "drug: '[bold]x:thumbs_up:[/bold]'")
    scenario = write_scenario(tmp_path, text, name="[red]s:smile:.yaml")
    assert main(["validate", str(scenario)]) == 2
    line = _line(capsys)
    assert "'[bold]x:thumbs_up:[/bold]'" in line and f"{scenario}:" in line and "👍" not in line


def test_valid_output_prints_paths_as_written(tmp_path, capsys):
    scenario = write_scenario(tmp_path, MINIMAL, name="[bold]:thumbs_up:.yaml")
    assert main(["validate", str(scenario)]) == 0
    assert capsys.readouterr().out.startswith(f"{scenario}: valid")


def test_api_checks_out_before_building_the_model(tmp_path, monkeypatch):
    import jaksim
    from jaksim.errors import OutputError
    from jaksim.run import engine
    monkeypatch.setattr(engine, "build_model", lambda *a, **k: pytest.fail("the model was built first"))
    (tmp_path / "taken").write_text("a file")
    from jaksim.scenario.load import scenario_from_text
    with pytest.raises(OutputError, match="is a file, not a folder"):
        jaksim.run(scenario_from_text(MINIMAL), out=tmp_path / "taken")
