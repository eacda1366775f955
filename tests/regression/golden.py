"""Golden baseline: every shipped scenario run small through the CLI, every output hashed.

The hash of a table covers its content (column names, types, every value) and its key-value
metadata, less what legitimately differs between machines (dependency versions, measured
seconds). A refactor must leave every hash unchanged; a change of the model changes them on
purpose, and then the baseline is rewritten with::

    python tests/regression/golden.py --update

(and the diff of ``golden.json`` is part of the commit that changes the numbers).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

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
#: (``files`` holds each file's SHA-256, and the Parquet files hold the dependency versions)
VOLATILE_MANIFEST = {"dependencies", "pathway_seconds", "files"}


def _drop(obj, keys: set[str]):
    if isinstance(obj, dict):
        return {k: _drop(v, keys) for k, v in obj.items() if k not in keys}
    if isinstance(obj, list):
        return [_drop(v, keys) for v in obj]
    return obj


def table_digest(path: Path) -> str:
    """SHA-256 of a Parquet file's schema, values and metadata (less volatile keys)."""
    table = pq.read_table(path, partitioning=None)
    # paths of files in this checkout (a user library's provenance) as <repo>: the same
    # baseline holds in every clone and worktree
    meta = {k.decode(): v.decode().replace(str(REPO), "<repo>") for k, v in (table.schema.metadata or {}).items()
            if k.decode() not in VOLATILE_METADATA}
    body = {"schema": [f"{f.name}:{f.type}" for f in table.schema],
            "values": table.replace_schema_metadata(None).to_pydict(), "metadata": meta}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=repr).encode()).hexdigest()


def folder_digests(folder: Path) -> dict[str, str]:
    """Digest of every file of a result folder, keyed by its relative path."""
    out = {}
    for f in sorted(folder.rglob("*")):
        if not f.is_file():
            continue
        rel = f.relative_to(folder).as_posix()
        if f.suffix == ".parquet":
            out[rel] = table_digest(f)
        elif f.name == "jaksim.json":
            manifest = _drop(json.loads(f.read_text()), VOLATILE_MANIFEST)
            out[rel] = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()
        else:
            out[rel] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def _cli(args: list[str]) -> None:
    from jaksim.cli import main
    code = main(args)
    if code not in (0, None):
        raise RuntimeError(f"jaksim {' '.join(args)} exited {code}")


def compute(work: Path) -> dict[str, dict[str, str]]:
    """Run every shipped scenario (and one PSA) into ``work``; digests by scenario."""
    result = {}
    for path in sorted(SCENARIOS.glob("*.yaml")):
        out = work / path.stem
        _cli(["run", str(path), "--out", str(out), *RUN_OPTIONS])
        result[path.stem] = folder_digests(out)
    out = work / "psa"
    _cli(["psa", str(SCENARIOS / f"{PSA_SCENARIO}.yaml"), "--out", str(out), *PSA_OPTIONS])
    result[f"psa:{PSA_SCENARIO}"] = folder_digests(out)
    return result


def main() -> None:
    import tempfile
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/regression/golden.py --update")
    with tempfile.TemporaryDirectory() as tmp:
        digests = compute(Path(tmp))
    BASELINE.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    print(f"wrote {BASELINE} ({sum(len(v) for v in digests.values())} files of {len(digests)} runs)")


if __name__ == "__main__":
    main()
