"""Checkpoints and resume for runs and PSAs, in a data format that cannot execute code.

A killed or interrupted ``jaksim run`` leaves, in its hidden work folder, its completed Parquet
parts and ``checkpoint.json``: the :class:`~jaksim.run.totals.RunState` after the last completed
segment, the fingerprint of every input (``run.fingerprint``: version, resolved scenario, cohort
file, library files, settings) and the size and SHA-256 of every completed part. A resume with
another input, or with a part deleted, truncated or changed, is refused in one line saying what.
A PSA leaves ``checkpoint.json`` (kind and fingerprint only) and one ``draw-<d>.json`` per
finished draw. ``--resume`` continues from them.

Every file is JSON, written atomically (temp file, fsync, rename, fsync of the folder). Python
ints are exact in JSON; floats are written as ``float.hex`` strings, so they round-trip bit for
bit; numpy arrays as dtype, shape and values. Reading is driven by a template of the expected
structure (a fresh state): every key, type, dtype and shape must match it, so nothing in a file
chooses what gets built, and a damaged or planted file gives a one-line ``OutputError``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from jaksim import __version__
from jaksim.errors import OutputError
from jaksim.output.manifest import file_record
from jaksim.run.totals import DrawArmTotals, RunState
from jaksim.scenario.schema import Scenario

FORMAT = "jaksim-checkpoint"
VERSION = 2
#: subfolder of a PSA's hidden work folder holding the finished draws (``DrawStore``)
DRAWS = "psa-draws"
#: larger files are refused unread (a run's checkpoint is a few kB per arm)
MAX_BYTES = 64 << 20


class _Malformed(ValueError):
    """The file is JSON but not of the expected structure (``where`` is the key path)."""


# ------------------------------------------------------------------------------ codec
def encode(value):
    """A JSON-ready form of a state value: ints, strings, float.hex, arrays, dicts, objects."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value).hex()
    if isinstance(value, np.ndarray):
        data = value.ravel().tolist()
        if value.dtype.kind == "f":
            data = [float(x).hex() for x in data]
        return {"dtype": value.dtype.str, "shape": list(value.shape), "data": data}
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return {k: encode(v) for k, v in vars(value).items()}


def decode(data, template, where: str = "state"):
    """``data`` (parsed JSON) rebuilt in the shape of ``template``; raise _Malformed on any
    difference of keys, types, dtypes or shapes. Strings must equal the template's (names)."""
    if template is None or isinstance(template, (bool, str)):
        if data != template or type(data) is not type(template):
            raise _Malformed(f"{where}: expected {template!r}")
        return template
    if isinstance(template, (int, np.integer)):
        if type(data) is not int:
            raise _Malformed(f"{where}: expected an integer")
        return type(template)(data)
    if isinstance(template, float):
        return _float(data, where)
    if isinstance(template, np.ndarray):
        return _array(data, template, where)
    if isinstance(template, (list, tuple)):
        if not isinstance(data, list) or len(data) != len(template):
            raise _Malformed(f"{where}: expected a list of {len(template)}")
        items = [decode(d, t, f"{where}[{i}]") for i, (d, t) in enumerate(zip(data, template, strict=False))]
        if hasattr(template, "_fields"):                      # a NamedTuple
            return type(template)(*items)
        return type(template)(items)
    if isinstance(template, dict):
        data = _keys(data, template, where)        # rebuilt in the template's key order
        return {k: decode(data[str(k)], v, f"{where}.{k}") for k, v in template.items()}
    obj = object.__new__(type(template))
    data = _keys(data, vars(template), where)
    for k, v in vars(template).items():
        setattr(obj, k, decode(data[k], v, f"{where}.{k}"))
    return obj


def _keys(data, template: dict, where: str) -> dict:
    if not isinstance(data, dict) or set(data) != {str(k) for k in template}:
        raise _Malformed(f"{where}: expected the keys {sorted(map(str, template))}")
    return data


def _float(data, where: str) -> float:
    if not isinstance(data, str):
        raise _Malformed(f"{where}: expected a float as float.hex")
    try:
        return float.fromhex(data)
    except (ValueError, OverflowError):
        raise _Malformed(f"{where}: expected a float as float.hex") from None


def _array(data, template: np.ndarray, where: str) -> np.ndarray:
    keys = _keys(data, {"dtype": 0, "shape": 0, "data": 0}, where)
    if keys["dtype"] != template.dtype.str or keys["shape"] != list(template.shape):
        raise _Malformed(f"{where}: expected dtype {template.dtype.str} and shape {list(template.shape)}")
    values = keys["data"]
    if not isinstance(values, list) or len(values) != template.size:
        raise _Malformed(f"{where}: expected {template.size} values")
    if template.dtype.kind == "f":
        values = [_float(v, where) for v in values]
    elif not all(type(v) is int for v in values):
        raise _Malformed(f"{where}: expected integers")
    try:
        return np.array(values, dtype=template.dtype).reshape(template.shape)
    except OverflowError:
        raise _Malformed(f"{where}: a value is out of range") from None


# -------------------------------------------------------------------------------- files
def write_json(path: Path, document: dict) -> None:
    """Write ``document`` to ``path`` atomically: a temp file, fsync, rename, fsync of the folder."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")     # a leftover is removed by a resumed OutputFolder
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(document, f, sort_keys=True, allow_nan=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_json(path: Path, kind: str) -> dict:
    """The header-checked document of a checkpoint or draw file; OutputError if unreadable.

    At most ``MAX_BYTES`` are read, so a planted link to an endless file cannot hang a resume.
    """
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise _Malformed(f"larger than {MAX_BYTES} bytes")
        doc = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
        _keys(doc, {"format": 0, "version": 0, "kind": 0, "fingerprint": 0, "state": 0, "parts": 0}, "file")
        if doc["format"] != FORMAT or doc["version"] != VERSION or not isinstance(doc["fingerprint"], str):
            raise _Malformed(f"not a {FORMAT} version {VERSION}")
        _check_parts(doc["parts"])
        if doc["kind"] not in ("run", "psa", "psa-draw") or (doc["kind"] == "psa-draw") != (kind == "psa-draw"):
            raise _Malformed(f"not a {kind} file")
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _unreadable(path, exc) from None
    return doc


def _no_constant(name: str):
    raise _Malformed(f"{name} is not allowed")


def _unreadable(path: Path, exc: BaseException) -> OutputError:
    why = str(exc).replace("\n", " ") if isinstance(exc, _Malformed) else type(exc).__name__
    return OutputError(f"--resume: '{path}' is not a readable jaksim checkpoint ({why}); give --overwrite "
                       "without --resume to start again")


def _document(kind: str, fingerprint: str, state, parts: dict | None = None) -> dict:
    return {"format": FORMAT, "version": VERSION, "kind": kind, "fingerprint": fingerprint, "state": state,
            "parts": parts or {}}


def _check_parts(parts) -> None:
    """``parts``: relative path → [size in bytes, SHA-256 hex] of each completed part."""
    if not isinstance(parts, dict):
        raise _Malformed("parts: expected a mapping of part paths")
    for rel, entry in parts.items():
        bad_path = rel.startswith("/") or ".." in Path(rel).parts
        if (bad_path or not isinstance(entry, list) or len(entry) != 2 or type(entry[0]) is not int
                or not isinstance(entry[1], str)):
            raise _Malformed(f"parts.{rel}: expected [size, sha256] of a part inside the work folder")


def part_record(path: Path) -> list:
    """[size in bytes, SHA-256 hex] of a completed Parquet part (``output.manifest.file_record``)."""
    return file_record(path)


def _verify_parts(parts: dict, work: Path, out: Path) -> None:
    """Every completed part is still there, with its size and content (one-line OutputError)."""
    for rel, (size, sha) in parts.items():
        path = work / rel
        if not path.is_file():
            what = "is missing"
        elif path.stat().st_size != size:
            what = f"has {path.stat().st_size} bytes instead of {size}"
        elif part_record(path)[1] != sha:
            what = "has changed content"
        else:
            continue
        raise OutputError(f"--resume: the completed part '{rel}' of the interrupted run to '{out}' {what}; "
                          "give --overwrite without --resume to start again")


def _changed_inputs(saved: str, current: str) -> str:
    """Which inputs differ between two run fingerprints (JSON of named digests)."""
    try:
        old = json.loads(saved)
        new = json.loads(current)
        keys = list(new) + [k for k in old if k not in new] if isinstance(old, dict) else list(new)
        changed = [k for k in keys if not isinstance(old, dict) or old.get(k) != new.get(k)]
    except (ValueError, TypeError):
        changed = []
    return ", ".join(changed) or "settings"


# ----------------------------------------------------------------------------------- runs
def save_run(path: Path, state: RunState, parts: dict | None = None) -> None:
    """Save a run's state after a completed segment, with the record of its completed parts
    (``part_record`` by path relative to the work folder), atomically."""
    body = encode(state)
    del body["kind"], body["fingerprint"]
    write_json(path, _document(state.kind, state.fingerprint, body, parts))


def read_run(path: Path, template: RunState, out: Path, work: Path | None = None) -> tuple[RunState, dict]:
    """The saved state of the interrupted run to ``out`` and its completed parts, checked
    against ``template`` (the fresh state of the run that resumes it: same kind, fingerprint,
    arms and outcomes) and, with ``work`` (the work folder), against the parts on disk."""
    doc = read_json(path, "run")
    if doc["kind"] != "run":
        raise OutputError(f"--resume: what was left next to '{out}' is an interrupted PSA, not a run; "
                          "continue it with 'jaksim psa --resume', or give --overwrite without --resume")
    if doc["fingerprint"] != template.fingerprint:
        raise OutputError(
            f"--resume: the interrupted run to '{out}' was made with other settings or inputs (changed since: "
            f"{_changed_inputs(doc['fingerprint'], template.fingerprint)}); rerun it with the same ones, "
            "or give --overwrite without --resume to start again")
    shape = {k: v for k, v in vars(template).items() if k not in ("kind", "fingerprint")}
    try:
        body = decode(doc["state"], shape)
        if body["next_start"] < 1 or any(t.summary.n_patients != body["next_start"] for t in body["arms"].values()):
            raise _Malformed("state.next_start: not the number of patients the accumulators hold")
    except _Malformed as exc:
        raise _unreadable(path, exc) from None
    if work is not None:
        _verify_parts(doc["parts"], work, out)
    return RunState(template.kind, template.fingerprint, **body), doc["parts"]


def run_fingerprint(scenario: Scenario, draw: int, chunk_size: int, checkpoint_patients: int,
                    cycle_length: float | None = None) -> str:
    """What a resumed run must share with the run it continues, as JSON of named SHA-256 digests
    (so that a refusal can say which input changed): jaksim version, resolved scenario, content
    of the cohort file and of the library's data files, and the settings (draw, chunking: float
    accumulations follow the chunk order)."""
    from jaksim.library.loader import library_root
    from jaksim.scenario.schema import FileCohort

    def sha(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    cohort = b""
    if isinstance(scenario.cohort, FileCohort):
        path = Path(scenario.cohort.from_file)
        path = path if path.is_absolute() else scenario.base_dir / path
        cohort = path.read_bytes() if path.is_file() else b"missing"
    root = library_root()
    library = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".csv") and p.is_file()):
        library.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    cycles = {} if cycle_length is None else {"cycle length": sha(float(cycle_length).hex().encode())}
    return json.dumps({
        **cycles,
        "jaksim version": __version__,
        "scenario": sha(scenario.model_dump_json().encode()),
        "cohort file": sha(cohort),
        "library files": library.hexdigest(),
        "draw, chunk size or checkpoint interval": sha(json.dumps([draw, chunk_size, checkpoint_patients]).encode()),
    }, sort_keys=True)


# ------------------------------------------------------------------------------------ PSA
def scenario_fingerprint(scenario: Scenario) -> str:
    """What a PSA draw's result depends on: jaksim's version, the resolved scenario and the content
    of the cohort file and of the library's data files (``run_fingerprint``, without run settings)."""
    return hashlib.sha256(run_fingerprint(scenario, 0, 0, 0).encode()).hexdigest()


def checkpoint_kind(path: Path) -> str:
    """``"run"`` or ``"psa"``: what the checkpoint at ``path`` was left by (OutputError if unreadable)."""
    return read_json(path, "checkpoint")["kind"]


def save_psa(path: Path, fingerprint: str) -> None:
    """Mark a PSA's work folder as resumable (its draws are in the ``DRAWS`` subfolder)."""
    write_json(path, _document("psa", fingerprint, {}))


class DrawStore:
    """Finished PSA draws kept on disk as they finish, one ``draw-<d>.json`` per draw, so that a
    killed or interrupted PSA continues where it stopped (``jaksim psa --resume``).

    A draw's result depends only on the scenario and the draw number, so the store is keyed by
    jaksim's version and the resolved scenario; any later run with the same ones may reuse it
    (even with a longer ``--draws``).
    """

    def __init__(self, folder: Path, scenario: Scenario):
        self.folder = Path(folder)
        self.arms = [a.name for a in scenario.arms]
        self.years = int(np.ceil(scenario.horizon_years))
        self.fingerprint = scenario_fingerprint(scenario)
        key = self.folder / "fingerprint"
        if key.is_file():
            if key.read_text(errors="replace") != self.fingerprint:
                raise OutputError("--resume: the interrupted PSA was made with another scenario, seed, number of "
                                  "patients, cohort file, library or jaksim version; rerun it with the same ones, "
                                  "or give --overwrite without --resume to start again")
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            key.write_text(self.fingerprint)

    def load(self) -> dict[int, tuple]:
        """{draw: (outcome names, {arm: DrawArmTotals})} of every draw finished so far."""
        out = {}
        for f in sorted(self.folder.glob("draw-*.json")):
            draw, names, results = self._read(f)
            out[draw] = (names, results)
        return out

    def save(self, draw: int, names, results: dict[str, DrawArmTotals]) -> None:
        """Keep one finished draw (atomically)."""
        state = {"draw": int(draw), "names": list(names), "results": encode(results)}
        write_json(self.folder / f"draw-{int(draw)}.json", _document("psa-draw", self.fingerprint, state))

    def _read(self, path: Path) -> tuple[int, tuple[str, ...], dict[str, DrawArmTotals]]:
        doc = read_json(path, "psa-draw")
        try:
            if doc["fingerprint"] != self.fingerprint:
                raise _Malformed("made with another scenario or jaksim version")
            state = _keys(doc["state"], {"draw": 0, "names": 0, "results": 0}, "state")
            draw, names = state["draw"], state["names"]
            if type(draw) is not int or path.name != f"draw-{draw}.json":
                raise _Malformed("state.draw: not the draw of the file name")
            if (not isinstance(names, list) or not 0 < len(names) <= 64
                    or not all(isinstance(n, str) for n in names)):
                raise _Malformed("state.names: expected a list of outcome names")
            template = {a: DrawArmTotals.empty(len(names), self.years) for a in self.arms}
            results = decode(state["results"], template, "state.results")
        except _Malformed as exc:
            raise _unreadable(path, exc) from None
        return draw, tuple(names), results


def count_draws(work_folder: Path) -> int:
    """How many finished draws an interrupted PSA keeps in its hidden ``work_folder``."""
    return len(list((Path(work_folder) / DRAWS).glob("draw-*.json")))


def open_draw_store(folder, scenario: Scenario, out: Path) -> DrawStore:
    """The draw store of a PSA's ``OutputFolder``, marked resumable; a resumed folder must have
    been left by a PSA (not a run) of the same scenario."""
    if folder.resumed and checkpoint_kind(folder.checkpoint) != "psa":
        raise OutputError(f"--resume: what was left next to '{out}' is an interrupted run, not a PSA; "
                          "continue it with 'jaksim run --resume', or give --overwrite without --resume")
    store = DrawStore(folder.tmp / DRAWS, scenario)
    save_psa(folder.checkpoint, store.fingerprint)
    return store
