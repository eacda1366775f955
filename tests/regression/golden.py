"""Golden baseline: every shipped scenario run small through the CLI, every output fingerprinted.

A change of the model changes the baseline on purpose, and then it is rewritten with::

    python tests/regression/golden.py --update

(and the diff of ``golden.json`` is part of the commit that changes the numbers).

What is pinned, per output file:

- **Exactly** (one SHA-256 per file): a table's schema (column names and types), every value of
  its integer, string, dictionary and boolean columns, where its float columns hold nulls, NaN
  and infinities, and its key-value metadata, less what legitimately differs between machines
  (dependency versions, measured seconds, the manifest's file sizes and hashes). A metadata
  value that is JSON (and the ``jaksim.json`` manifest) is hashed with its floats taken out:
  structure, keys, strings, integers and booleans stay exact (``4`` and ``4.0`` differ).
- **To a tolerance**: every float column, and the floats of every JSON metadata value and of the
  manifest, by a fingerprint ``[sum, sum of |x|, weighted sum]`` of the finite values (exactly
  rounded ``math.fsum``; the weights are fixed pseudo-random numbers in [0.5, 1.5) by row, so a
  permutation shows), stored to 12 significant digits. Two fingerprints agree when each of the
  three differs by at most ``REL_TOL`` = 1e-9 times the larger sum of |x|.

Why a tolerance: the simulated numbers are bit-identical across thread counts and chunk sizes on
one machine, but model building (calibration, the network meta-analysis, hazard tables, the PSA's
joint draws) calls numpy's SIMD-dispatched ufuncs (exp, log, power, ...) and OpenBLAS (dot,
matmul, linalg), which choose their kernels by CPU and differ in the last bits between CPU models
(``OPENBLAS_CORETYPE=Haswell`` or ``NPY_DISABLE_CPU_FEATURES="AVX512_ICL X86_V4 X86_V3"`` show it on
one machine: up to ~1e-13 of a column's sum of |x|). CI may run on another CPU than the one that
wrote the baseline. What the tolerance lets through: a change of a float column smaller than 1e-9
of its sum of |x| (one value of n similar ones changed by less than about n x 1e-9 of itself), so a
refactor that changes only last bits passes here; the property tests pin bit-identity across
threads and chunks. Anything else (a count, an event, a flag, a NaN, a schema or metadata change,
a reordering of rows) fails.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"
BASELINE = Path(__file__).with_name("golden.json")

#: small runs that still pass every code path: several chunks, several checkpoint parts
RUN_OPTIONS = ["--n-patients", "3000", "--chunk-size", "1000", "--checkpoint-every", "2000", "--threads", "2"]
PSA_SCENARIO = "ra_tofacitinib_zoster_vaccination"
PSA_OPTIONS = ["--draws", "3", "--n-patients", "400", "--one-way", "--threads", "2"]
#: metadata that differs between machines and runs, not between models
VOLATILE_METADATA = {"jaksim.dependencies"}
#: (``files`` holds each file's size and SHA-256, and the Parquet files hold the dependency versions)
VOLATILE_MANIFEST = {"dependencies", "pathway_seconds", "files"}
#: two float fingerprints agree when each number differs by at most REL_TOL x the sum of |x|
REL_TOL = 1e-9
#: significant digits stored (rounding moves a sum by at most 5e-12 of itself, far below REL_TOL)
DIGITS = 12

Fingerprint = list[float]               # [sum, sum of |x|, weighted sum] of the finite values
Entry = dict[str, Any]                  # {"sha256": str, "floats": {name: Fingerprint}} ("floats" if any)


def _drop(obj, keys: set[str]):
    if isinstance(obj, dict):
        return {k: _drop(v, keys) for k, v in obj.items() if k not in keys}
    if isinstance(obj, list):
        return [_drop(v, keys) for v in obj]
    return obj


@lru_cache(maxsize=64)
def _weights(n: int) -> np.ndarray:
    """n fixed pseudo-random weights in [0.5, 1.5) (SplitMix64 of the row number): the same everywhere."""
    with np.errstate(over="ignore"):
        z = (np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    w = 0.5 + (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    w.flags.writeable = False
    return w


def _round(x: float) -> float:
    return float(f"{x:.{DIGITS}g}")


def float_fingerprint(values) -> Fingerprint:
    """``[fsum(x), fsum(|x|), fsum(w x)]`` of the finite values (weights by position), rounded.

    Non-finite values count as 0 here: where they are is hashed exactly (``_specials``).
    """
    x = np.asarray(values, dtype=np.float64)
    x = np.where(np.isfinite(x), x, 0.0)
    # products are correctly rounded (IEEE), so the weighted sum is the same on every CPU
    return [_round(math.fsum(x.tolist())), _round(math.fsum(np.abs(x).tolist())),
            _round(math.fsum((x * _weights(len(x))).tolist()))]


def _specials(column: pa.ChunkedArray) -> dict[str, list[int]]:
    """Rows of a float column that hold null, NaN, +inf or -inf (pinned exactly)."""
    x = column.to_numpy(zero_copy_only=False).astype(np.float64)
    null = np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    rows = {"null": null, "nan": np.isnan(x) & ~null, "inf": x == np.inf, "-inf": x == -np.inf}
    return {k: np.flatnonzero(v).tolist() for k, v in rows.items() if v.any()}


def split_floats(obj: Any, floats: list[float]) -> Any:
    """``obj`` (parsed JSON) with each finite float replaced by a marker and appended to ``floats``
    (keys in sorted order, as the hash sees them)."""
    if isinstance(obj, float):
        if math.isfinite(obj):
            floats.append(obj)
            return "<float>"
        return f"<float {obj!r}>"
    if isinstance(obj, dict):
        return {k: split_floats(obj[k], floats) for k in sorted(obj)}
    if isinstance(obj, list):
        return [split_floats(v, floats) for v in obj]
    return obj


def _entry(body: Any, floats: dict[str, Fingerprint]) -> Entry:
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=repr).encode()).hexdigest()
    return {"sha256": digest, "floats": floats} if floats else {"sha256": digest}


def table_fingerprint(path: Path) -> Entry:
    """A Parquet file: exact hash of all but float values, fingerprints of float columns and JSON metadata."""
    table = pq.read_table(path, partitioning=None)
    floats: dict[str, Fingerprint] = {}
    exact: dict[str, Any] = {}
    specials: dict[str, Any] = {}
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_floating(field.type):
            floats[field.name] = float_fingerprint(column.to_numpy(zero_copy_only=False))
            if found := _specials(column):
                specials[field.name] = found
        else:
            exact[field.name] = column.to_pylist()
    meta: dict[str, Any] = {}
    for k, v in (table.schema.metadata or {}).items():
        key = k.decode()
        if key in VOLATILE_METADATA:
            continue
        # paths of files in this checkout (a user library's provenance) as <repo>: the same
        # baseline holds in every clone and worktree
        text = v.decode().replace(str(REPO), "<repo>")
        try:
            parsed = json.loads(text)
        except ValueError:
            meta[key] = text
            continue
        values: list[float] = []
        meta[key] = {"json": split_floats(parsed, values)}
        if values:
            floats[f"metadata:{key}"] = float_fingerprint(values)
    body = {"schema": [f"{f.name}:{f.type}" for f in table.schema], "values": exact, "specials": specials,
            "metadata": meta}
    return _entry(body, floats)


def manifest_fingerprint(path: Path) -> Entry:
    """``jaksim.json`` less its volatile keys: exact hash without floats, fingerprint of its floats."""
    values: list[float] = []
    skeleton = split_floats(_drop(json.loads(path.read_text()), VOLATILE_MANIFEST), values)
    return _entry(skeleton, {"manifest": float_fingerprint(values)} if values else {})


def file_fingerprint(path: Path) -> Entry:
    if path.suffix == ".parquet":
        return table_fingerprint(path)
    if path.name == "jaksim.json":
        return manifest_fingerprint(path)
    # no other file is written by 'jaksim run' or 'jaksim psa' today; one that is (a report,
    # a CSV) is pinned byte for byte until it needs more care
    return {"sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def folder_fingerprints(folder: Path) -> dict[str, Entry]:
    """Fingerprint of every file of a result folder, keyed by its relative path."""
    return {f.relative_to(folder).as_posix(): file_fingerprint(f)
            for f in sorted(folder.rglob("*")) if f.is_file()}


def fingerprints_agree(expected: Fingerprint, got: Fingerprint, rel_tol: float = REL_TOL) -> bool:
    """Each of sum, sum of |x| and weighted sum within ``rel_tol`` x the larger sum of |x|."""
    tol = rel_tol * max(abs(expected[1]), abs(got[1]))
    return len(expected) == len(got) and all(abs(e - g) <= tol for e, g in zip(expected, got, strict=True))


def compare_entries(expected: Entry, got: Entry | None) -> list[str]:
    """Why a file's fingerprint differs from the baseline's (empty: it agrees)."""
    if got is None:
        return ["missing"]
    if got["sha256"] != expected["sha256"]:
        return ["schema, non-float values, NaN/null positions or metadata changed"]
    want, have = expected.get("floats", {}), got.get("floats", {})
    problems = [f"{name}: float fingerprint {have.get(name)} != {want.get(name)}"
                for name in sorted(want.keys() | have.keys())
                if name not in want or name not in have or not fingerprints_agree(want[name], have[name])]
    return problems


def compare_folders(expected: dict[str, Entry], got: dict[str, Entry]) -> dict[str, list[str]]:
    """Per file of a run, what differs from the baseline (files that agree are left out)."""
    out = {}
    for name in sorted(expected.keys() | got.keys()):
        problems = ["not in the baseline"] if name not in expected else compare_entries(expected[name], got.get(name))
        if problems:
            out[name] = problems
    return out


def compare_runs(expected: dict[str, dict[str, Entry]], got: dict[str, dict[str, Entry]]) -> dict[str, list[str]]:
    """Per ``run/file``, what differs (runs of ``got`` only are left to the caller)."""
    return {f"{run}/{name}": why for run in sorted(expected)
            for name, why in compare_folders(expected[run], got.get(run, {})).items()}


def _cli(args: list[str]) -> None:
    from jaksim.cli import main
    code = main(args)
    if code not in (0, None):
        raise RuntimeError(f"jaksim {' '.join(args)} exited {code}")


def compute(work: Path) -> dict[str, dict[str, Entry]]:
    """Run every shipped scenario (and one PSA) into ``work``; fingerprints by scenario."""
    result = {}
    for path in sorted(SCENARIOS.glob("*.yaml")):
        out = work / path.stem
        _cli(["run", str(path), "--out", str(out), *RUN_OPTIONS])
        result[path.stem] = folder_fingerprints(out)
    out = work / "psa"
    _cli(["psa", str(SCENARIOS / f"{PSA_SCENARIO}.yaml"), "--out", str(out), *PSA_OPTIONS])
    result[f"psa:{PSA_SCENARIO}"] = folder_fingerprints(out)
    return result


def dumps(fingerprints: dict[str, dict[str, Entry]]) -> str:
    """``golden.json``: sorted, one line per file (a change of numbers is a readable diff)."""
    runs = []
    for run in sorted(fingerprints):
        files = [f"  {json.dumps(name)}: {json.dumps(entry, sort_keys=True, separators=(',', ':'))}"
                 for name, entry in sorted(fingerprints[run].items())]
        runs.append(f" {json.dumps(run)}: {{\n" + ",\n".join(files) + "\n }")
    return "{\n" + ",\n".join(runs) + "\n}\n"


def load() -> dict[str, dict[str, Entry]]:
    return json.loads(BASELINE.read_text())


def main() -> None:
    import tempfile
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/regression/golden.py --update")
    with tempfile.TemporaryDirectory() as tmp:
        fingerprints = compute(Path(tmp))
    BASELINE.write_text(dumps(fingerprints))
    print(f"wrote {BASELINE} ({sum(len(v) for v in fingerprints.values())} files of {len(fingerprints)} runs, "
          f"{BASELINE.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
