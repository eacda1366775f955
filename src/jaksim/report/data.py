"""What the HTML report reads from a results folder: the manifest, the tables and the
provenance metadata (``jaksim.*`` keys) of a ``jaksim run`` or ``jaksim psa`` folder."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


@dataclass
class Folder:
    """A results folder read for the report (tables as Arrow, per arm where partitioned)."""
    path: Path
    manifest: dict
    kind: str                                    # "run" or "psa"
    arms: list[str]
    reference: str
    metadata: dict[str, str]                     # jaksim.* keys of one file (reference arm)
    arm_parameters: dict[str, dict] = field(default_factory=dict)   # jaksim.parameters per arm (runs)
    tables: dict[str, dict[str, pa.Table]] = field(default_factory=dict)   # run: table -> arm -> table
    psa: dict[str, pa.Table] = field(default_factory=dict)                 # psa: name -> table

    @property
    def has_economics(self) -> bool:
        return bool(self.tables.get("economics")) or "outcomes" in self.psa

    @property
    def scenario(self) -> dict:
        """The resolved scenario (runs) or the scenario file as parsed (PSA), {} if absent."""
        raw = self.metadata.get("jaksim.resolved_scenario")
        if raw:
            return json.loads(raw)
        text = self.metadata.get("jaksim.scenario_yaml")
        if text:
            import yaml
            data = yaml.safe_load(text)
            return data if isinstance(data, dict) else {}
        return {}


def _meta(obj) -> dict[str, str]:
    md = getattr(obj, "schema", obj).metadata or {}
    return {k.decode(): v.decode() for k, v in md.items() if k.startswith(b"jaksim.")}


def _read_arm_table(folder: Path, name: str, arm: str, columns: list[str] | None = None) -> pa.Table | None:
    parts = sorted((folder / name / f"arm={arm}").glob("part-*.parquet"))
    if not parts:
        return None
    tables = []
    for p in parts:
        f = pq.ParquetFile(p)
        cols = None if columns is None else [c for c in columns if c in f.schema_arrow.names]
        tables.append(f.read(columns=cols))
    t = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    if "arm" not in t.column_names and name in ("contrasts", "economics"):
        t = t.add_column(0, "arm", pa.array([arm] * t.num_rows, pa.string()))   # the partition folder gives it
    return t


def patient_columns(types: list[str]) -> list[str]:
    """The columns of ``patients`` the report uses (not costs or vaccine dates)."""
    base = ["age_years", "female", "asia", "glucocorticoid_band", "indication", "follow_up_years", "exit_reason"]
    return base + [f"{t}_{s}" for t in types for s in ("events", "first_years")] + ["post_herpetic_neuralgia_events"]


def read_folder(path) -> Folder:
    """Read a run or PSA folder for the report; an ``OutputError`` if it is neither."""
    path = Path(path)
    from jaksim.output.manifest import read_manifest
    manifest = read_manifest(path)           # checked (and every listed file) before any of it is trusted
    arms, ref = list(manifest["arms"]), manifest["reference_arm"]
    if manifest.get("kind") == "one_way":
        from jaksim.errors import OutputError
        raise OutputError(f"'{path}' is a one-way folder: draw it with 'jaksim tornado {path}' "
                          "(jaksim report reads run and PSA folders)")
    kind = "psa" if manifest.get("kind") == "psa" else "run"
    if kind == "psa":
        psa = {p.stem: pq.read_table(p) for p in sorted(path.glob("*.parquet"))}
        return Folder(path, manifest, kind, arms, ref, _meta(psa["outcomes"]) if "outcomes" in psa else {}, psa=psa)
    types = list(manifest.get("infection_types", []))
    tables: dict[str, dict[str, pa.Table]] = {}
    for name, cols in (("summary", None), ("contrasts", None), ("economics", None),
                       ("patients", patient_columns(types)), ("events", ["type", "age_at_event_years"])):
        per_arm = {a: t for a in arms if (t := _read_arm_table(path, name, a, cols)) is not None}
        if per_arm:
            tables[name] = per_arm
    arm_parameters = {}
    meta: dict[str, str] = {}
    for a in arms:
        parts = sorted((path / "summary" / f"arm={a}").glob("part-*.parquet"))
        if parts:
            md = _meta(pq.read_schema(parts[0]))
            meta = meta or md
            if "jaksim.parameters" in md:
                arm_parameters[a] = json.loads(md["jaksim.parameters"])
    return Folder(path, manifest, kind, arms, ref, meta, arm_parameters, tables)
