"""The output dataset is the contract with health-economic models: readable by common tools,
self-describing (key-value metadata on every file), with a stable schema, consistent tables
and byte-identical reruns."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import jaksim
from helpers import MINIMAL, write_scenario
from jaksim.cli import main

SCENARIO = MINIMAL + "arms:\n  low: {}\n  high:\n    infections: {infection_a: {rate_per_100py: 20.0}}\n"
ARMS = ("high", "low")
TYPES = ("infection_a", "infection_b")
SEED = 4242
N = 1500
REQUIRED_KEYS = ("jaksim.scenario_yaml", "jaksim.parameters", "jaksim.seed", "jaksim.version",
                 "jaksim.dependencies")

EVENTS_SCHEMA = [
    ("patient_id", pa.int64()), ("draw", pa.int32()), ("type", pa.dictionary(pa.int8(), pa.string())),
    ("event_number", pa.int32()), ("time_years", pa.float64()), ("age_at_event_years", pa.float64()),
    ("on_treatment", pa.bool_()), ("hospitalised", pa.bool_()), ("serious", pa.bool_()),
    ("fatal", pa.bool_()), ("stops_treatment", pa.bool_()), ("post_herpetic_neuralgia", pa.bool_()),
]
SUMMARY_COLUMNS = [
    "type", "draw", "n_patients", "horizon_years", "events", "person_years", "incidence_rate_per_100py",
    "incidence_rate_ci_lower", "incidence_rate_ci_upper", "patients_with_event", "first_event_person_years",
    "first_event_rate_per_100py", "first_event_rate_ci_lower", "first_event_rate_ci_upper",
    "cumulative_incidence", "cumulative_incidence_ci_lower", "cumulative_incidence_ci_upper",
    "person_years_on_treatment",
]


def _run(scenario: Path, out: Path) -> None:
    assert main(["run", str(scenario), "--out", str(out), "--n-patients", str(N), "--seed", str(SEED)]) == 0


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("output")
    scenario = write_scenario(base, SCENARIO)
    out = base / "run1"
    _run(scenario, out)
    return scenario, out


@pytest.fixture(scope="module")
def out(run_dir) -> Path:
    return run_dir[1]


def parquet_files(out: Path) -> list[Path]:
    return sorted(out.rglob("*.parquet"))


def dataset(out: Path, table: str) -> pa.Table:
    return ds.dataset(out / table, format="parquet", partitioning="hive").to_table()


# --------------------------------------------------------------------------- layout
def test_layout(out):
    assert sorted(p.name for p in out.iterdir()) == ["contrasts", "events", "jaksim.json", "patients", "summary"]
    expected = sorted([f"{t}/arm={a}/part-00000.parquet" for t in ("events", "patients", "summary") for a in ARMS]
                      + [f"contrasts/arm={a}/part-00000.parquet" for a in ARMS   # versus the reference arm
                         if a != json.loads((out / "jaksim.json").read_text())["reference_arm"]])
    assert [str(p.relative_to(out)) for p in parquet_files(out)] == expected
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".")]
    assert not list(out.parent.glob(f".{out.name}.jaksim-*"))
    manifest = json.loads((out / "jaksim.json").read_text())
    assert manifest["arms"] == ["low", "high"] and manifest["infection_types"] == list(TYPES)
    assert (manifest["seed"], manifest["n_patients"], manifest["jaksim_version"]) == (SEED, N, jaksim.__version__)


# ------------------------------------------------------------------------- readers
def test_pyarrow_dataset_hive(out):
    for table in ("events", "patients", "summary"):
        t = dataset(out, table)
        assert "arm" in t.column_names
        assert set(t.column("arm").to_pylist()) == set(ARMS)
    patients = dataset(out, "patients")
    assert patients.num_rows == N * len(ARMS)
    for arm in ARMS:
        ids = patients.filter(pc.equal(patients["arm"], arm))["patient_id"].to_pylist()
        assert sorted(ids) == list(range(N))


def test_duckdb_reads_dataset(out):
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    for table in ("events", "patients", "summary"):
        rows = con.execute(
            f"SELECT arm, count(*) FROM read_parquet('{out}/{table}/*/*.parquet', hive_partitioning=true) "
            "GROUP BY arm ORDER BY arm").fetchall()
        expected = dataset(out, table).group_by("arm").aggregate([([], "count_all")]).to_pylist()
        assert rows == sorted((r["arm"], r["count_all"]) for r in expected)
    by_type = con.execute(
        f"SELECT arm, type, count(*) FROM read_parquet('{out}/events/*/*.parquet', hive_partitioning=true) "
        "GROUP BY ALL ORDER BY ALL").fetchall()
    summary = {(r["arm"], r["type"]): r["events"] for r in dataset(out, "summary").to_pylist()}
    assert by_type and all(summary[(arm, typ)] == n for arm, typ, n in by_type)


def test_pandas_reads_table_folder(out):
    pd = pytest.importorskip("pandas")
    events = pd.read_parquet(out / "events")
    assert "arm" in events.columns and len(events) == dataset(out, "events").num_rows
    summary = pd.read_parquet(out / "summary")
    assert set(summary["arm"].astype(str)) == set(ARMS)
    assert set(summary["type"]) == set(TYPES) | {"death"}


def test_polars_reads_dataset(out):
    pl = pytest.importorskip("polars")
    events = pl.read_parquet(f"{out}/events/*/*.parquet", hive_partitioning=True)
    assert "arm" in events.columns and events.height == dataset(out, "events").num_rows
    patients = pl.scan_parquet(f"{out}/patients/", hive_partitioning=True).collect()
    assert patients.height == N * len(ARMS)


# ------------------------------------------------------------------------- metadata
def test_metadata_on_every_file_pyarrow(run_dir):
    scenario, out = run_dir
    files = parquet_files(out)
    assert len(files) == 3 * len(ARMS) + len(ARMS) - 1      # + contrasts of every non-reference arm
    for f in files:
        meta = {k.decode(): v.decode() for k, v in pq.read_schema(f).metadata.items()}
        assert all(k in meta for k in REQUIRED_KEYS), f
        assert meta["jaksim.scenario_yaml"] == scenario.read_text()
        assert meta["jaksim.seed"] == str(SEED)
        assert meta["jaksim.version"] == jaksim.__version__
        deps = json.loads(meta["jaksim.dependencies"])
        assert {"numpy", "pyarrow", "numba", "python"} <= set(deps)
        assert deps["pyarrow"] == pa.__version__
        params = json.loads(meta["jaksim.parameters"])
        rate = params["infections"]["infection_a"]["rate_per_100py"]
        arm = f.parent.name.removeprefix("arm=")
        assert rate == {"value": 20.0 if arm == "high" else 5.0, "source": "scenario file",
                        "applies_to": "reference_patient"}
        assert params["treatment"] == {"drug": "tofacitinib", "dose_mg": 5.0}
        # values the file leaves out are resolved with their provenance
        assert params["infections"]["infection_a"]["female"]["source"] == "assumption"
        assert meta["jaksim.arm"] == arm and meta["jaksim.table"] == f.parent.parent.name


def test_library_parameters_carry_citations(tmp_path):
    """A run on library rates records citation and DOI of each rate in the file metadata."""
    text = MINIMAL.replace("  infection_a: {rate_per_100py: 5.0}\n  infection_b: {rate_per_100py: 2.0}\n",
                           "  herpes_zoster: {}\n")
    scenario = write_scenario(tmp_path, text)
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "--n-patients", "200"]) == 0
    meta = pq.read_schema(out / "events" / "arm=base" / "part-00000.parquet").metadata
    inf = json.loads(meta[b"jaksim.parameters"])["infections"]["herpes_zoster"]
    assert inf["evidence"] == "relative_effects"
    rate = inf["rate_per_100py"]
    base, re = rate["ra"]["baseline_rate_per_100py"], rate["ra"]["relative_effect"]
    assert base["source"] == "library" and base["citation"] and base["doi"] and base["status"] == "read"
    assert base["calibration"]["reference_rate_per_100py"] > 0
    assert re["status"] in ("read", "computed") and re["effects"] and all(e["citation"] for e in re["effects"])
    assert sum(c["share_of_variance"] for c in re["comparisons"]) == pytest.approx(1.0, abs=1e-3)


def test_programme_rates_carry_citations(tmp_path):
    """The programme_rates evidence set records each drug's own programme rate and its source."""
    text = MINIMAL.replace("  infection_a: {rate_per_100py: 5.0}\n  infection_b: {rate_per_100py: 2.0}\n",
                           "  herpes_zoster: {}\n")
    scenario = write_scenario(tmp_path, "evidence: programme_rates\n" + text)
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "--n-patients", "200"]) == 0
    meta = pq.read_schema(out / "events" / "arm=base" / "part-00000.parquet").metadata
    inf = json.loads(meta[b"jaksim.parameters"])["infections"]["herpes_zoster"]
    assert inf["evidence"] == "programme_rates"
    rate = inf["rate_per_100py"]
    assert rate["ra"]["source"] == "library" and rate["ra"]["citation"] and rate["ra"]["status"] == "read"


def test_metadata_in_duckdb(run_dir):
    duckdb = pytest.importorskip("duckdb")
    scenario, out = run_dir
    rows = duckdb.connect().execute(
        f"SELECT file_name, decode(key), decode(value) FROM parquet_kv_metadata('{out}/*/*/*.parquet')").fetchall()
    by_file: dict[str, dict[str, str]] = {}
    for file_name, key, value in rows:
        by_file.setdefault(Path(file_name).as_posix(), {})[key] = value
    assert sorted(by_file) == [p.as_posix() for p in parquet_files(out)]
    for meta in by_file.values():
        assert all(k in meta for k in REQUIRED_KEYS)
        assert meta["jaksim.seed"] == str(SEED)
        assert meta["jaksim.version"] == jaksim.__version__
        assert meta["jaksim.scenario_yaml"] == scenario.read_text()
        assert "scenario file" in meta["jaksim.parameters"]
        json.loads(meta["jaksim.dependencies"])


# --------------------------------------------------------------------------- schema
def test_events_schema_is_stable(out):
    for f in sorted((out / "events").rglob("*.parquet")):
        schema = pq.read_schema(f)
        assert [(fld.name, fld.type) for fld in schema] == EVENTS_SCHEMA
    t = dataset(out, "events")
    assert t.column_names == [n for n, _ in EVENTS_SCHEMA] + ["arm"]
    assert set(t.column("type").to_pylist()) <= set(TYPES)
    assert t.num_rows > 0


def test_patients_and_summary_schema(out):
    patients = pq.read_schema(out / "patients" / "arm=low" / "part-00000.parquet")
    names = patients.names
    for col, typ in [("patient_id", pa.int64()), ("draw", pa.int32()), ("age_years", pa.float64()),
                     ("female", pa.bool_()), ("asia", pa.bool_()), ("prior_zoster", pa.bool_()),
                     ("diabetes", pa.bool_()), ("zoster_vaccinated", pa.bool_()),
                     ("follow_up_years", pa.float64()), ("treatment_start_years", pa.float64()),
                     ("treatment_stop_years", pa.float64()), ("on_treatment_years", pa.float64()),
                     ("vaccine_dose1_years", pa.float64()), ("vaccine_dose2_years", pa.float64())]:
        assert patients.field(col).type == typ, col
    for col in ("glucocorticoid_band", "indication", "exit_reason"):
        assert patients.field(col).type == pa.dictionary(pa.int8(), pa.string())
    for t in TYPES:
        assert patients.field(f"{t}_events").type == pa.int32()
        assert patients.field(f"{t}_first_years").type == pa.float64()
    assert names[:3] == ["patient_id", "draw", "age_years"]
    summary = pq.read_schema(out / "summary" / "arm=low" / "part-00000.parquet")
    assert summary.names == SUMMARY_COLUMNS


# ---------------------------------------------------------------------- consistency
def test_summary_person_years_is_exact_sum_of_follow_up(out):
    patients = dataset(out, "patients")
    summary = dataset(out, "summary").to_pylist()
    for arm in ARMS:
        follow_up = patients.filter(pc.equal(patients["arm"], arm))["follow_up_years"].to_pylist()
        rows = [r for r in summary if r["arm"] == arm]
        assert len(rows) == len(TYPES) + 1
        for r in rows:
            assert r["person_years"] == math.fsum(follow_up)
            assert r["n_patients"] == N


def test_summary_events_match_event_and_patient_tables(out):
    events = dataset(out, "events").to_pylist()
    patients = dataset(out, "patients")
    for r in dataset(out, "summary").to_pylist():
        if r["type"] == "death":
            continue
        n_events = sum(1 for e in events if e["arm"] == r["arm"] and e["type"] == r["type"])
        per_patient = patients.filter(pc.equal(patients["arm"], r["arm"]))[f"{r['type']}_events"]
        assert r["events"] == n_events == pc.sum(per_patient).as_py()
        assert r["incidence_rate_per_100py"] == pytest.approx(100 * n_events / r["person_years"], rel=1e-12)
        assert r["incidence_rate_ci_lower"] <= r["incidence_rate_per_100py"] <= r["incidence_rate_ci_upper"]


def test_rerun_with_same_seed_is_byte_identical(run_dir, tmp_path):
    scenario, out = run_dir
    again = tmp_path / "again"
    _run(scenario, again)
    first = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    second = {str(p.relative_to(again)): p.read_bytes() for p in sorted(again.rglob("*")) if p.is_file()}
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], name


def test_write_queue_keeps_order_and_hands_errors_to_the_caller(tmp_path):
    """Batches are written in the order put (one thread), and an error of the writing thread
    is raised in the caller, not lost with the thread."""
    import pyarrow as pa

    from jaksim.output.parquet import RowGroupWriter, WriteQueue
    schema = pa.schema([("x", pa.int64())])
    w = RowGroupWriter(tmp_path / "a.parquet", schema, rows_per_group=7)
    q = WriteQueue(max_pending=2)
    for start in range(0, 100, 10):
        q.put(w, pa.record_batch([pa.array(range(start, start + 10))], schema=schema))
    q.drain()
    w.close()
    assert pq.read_table(tmp_path / "a.parquet")["x"].to_pylist() == list(range(100))
    bad = RowGroupWriter(tmp_path / "b.parquet", schema, rows_per_group=1)
    q.put(bad, pa.record_batch([pa.array(["not an int"])], names=["x"]))
    with pytest.raises(pa.ArrowInvalid):
        q.drain()
    q.close(cancel=True)
    bad.abort()
    assert not list(tmp_path.glob("b.parquet*"))
