"""``jaksim.json``, the manifest of a result folder, read and checked before a folder is trusted.

``jaksim report`` reads a run's or PSA's tables, and ``--overwrite`` deletes a folder, only after
:func:`read_manifest` found a manifest that is jaksim's: a JSON object (at most
``MAX_MANIFEST_BYTES``) with the fields the readers use, of the right types, arm names that are
plain names (they become paths) and a known ``jaksim_version`` (this one or an earlier one).
A manifest records the size and SHA-256 of every file of its result (``files``, written by
``OutputFolder.commit``); ``jaksim report`` checks each before reading anything (results from
before ``files`` was recorded are read unchecked). Any problem is one ``OutputError`` line.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from jaksim import __version__
from jaksim.errors import OutputError

MANIFEST = "jaksim.json"
MAX_MANIFEST_BYTES = 16 << 20
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ManifestProblem(ValueError):
    """What is wrong with a manifest (the message is the reason, without the folder)."""


def _no_constant(name: str):
    raise ManifestProblem(f"{name} is not JSON")


def load(path: Path) -> Any:
    """The JSON document of ``path`` (ManifestProblem when unreadable or not JSON)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise ManifestProblem(f"{MANIFEST} cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ManifestProblem(f"{MANIFEST} is larger than {MAX_MANIFEST_BYTES:,} bytes")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise ManifestProblem(f"{MANIFEST} is not valid JSON{where}") from None


_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:[.+-]?[0-9A-Za-z.+-]*)?$")


def _version_tuple(version: str) -> tuple[int, int, int] | None:
    m = _VERSION.match(version)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def known_version(version: Any) -> bool:
    """Whether a result of jaksim ``version`` has a layout this jaksim reads: this version or an
    earlier one (a later one may have changed it)."""
    ours, theirs = _version_tuple(__version__), _version_tuple(version) if isinstance(version, str) else None
    return ours is not None and theirs is not None and theirs <= ours


def file_record(path: Path) -> list:
    """[size in bytes, SHA-256 hex] of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return [path.stat().st_size, digest.hexdigest()]


def file_records(folder: Path, known: dict[str, list] | None = None) -> dict[str, list]:
    """``file_record`` of every file below ``folder`` by relative path (the manifest's own
    excepted); records in ``known`` (same path) are taken as they are."""
    known = known or {}
    out = {}
    for p in sorted(Path(folder).rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_file() and rel != MANIFEST:
            out[rel] = known[rel] if rel in known and known[rel][0] == p.stat().st_size else file_record(p)
    return out


def verify_files(folder: Path, doc: dict) -> None:
    """Every file the manifest lists is in ``folder`` with its size and SHA-256 (ManifestProblem)."""
    files = doc.get("files")
    if files is None:
        return                                   # a result from before files were recorded
    if not isinstance(files, dict):
        raise ManifestProblem(f"{MANIFEST}: 'files' must be a mapping of file paths")
    for rel, entry in files.items():
        if (not isinstance(rel, str) or rel.startswith("/") or ".." in Path(rel).parts or not isinstance(entry, list)
                or len(entry) != 2 or type(entry[0]) is not int or not isinstance(entry[1], str)):
            raise ManifestProblem(f"{MANIFEST}: files.{rel}: expected [size, sha256] of a file of the result")
        path = Path(folder) / rel
        if not path.is_file():
            raise ManifestProblem(f"its file '{rel}' is missing")
        if path.stat().st_size != entry[0]:
            raise ManifestProblem(f"its file '{rel}' has {path.stat().st_size:,} bytes instead of {entry[0]:,}")
        if file_record(path)[1] != entry[1]:
            raise ManifestProblem(f"its file '{rel}' has changed content (SHA-256 differs)")


def _require(doc: dict, key: str, check, what: str) -> Any:
    value = doc.get(key)
    if not check(value):
        raise ManifestProblem(f"{MANIFEST}: '{key}' must be {what} (got {json.dumps(value)[:60]})")
    return value


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check(doc: Any) -> dict:
    """``doc`` if it is a jaksim manifest with the fields readers use, else ManifestProblem."""
    if not isinstance(doc, dict):
        raise ManifestProblem(f"{MANIFEST} is not a JSON object")
    version = _require(doc, "jaksim_version", lambda v: isinstance(v, str), "a version string")
    if not known_version(version):
        raise ManifestProblem(f"it was written by jaksim {json.dumps(version)[:40]}, not a version this "
                              f"jaksim {__version__} knows (this one or earlier)")
    kind = _require(doc, "kind", lambda v: v in (None, "psa", "one_way"), "absent (a run), 'psa' or 'one_way'")
    arms = _require(doc, "arms", lambda v: isinstance(v, list) and v and all(
        isinstance(a, str) and _NAME.match(a) for a in v), "a list of arm names")
    _require(doc, "reference_arm", lambda v: v == arms[0], "the first arm")
    _require(doc, "tables", lambda v: isinstance(v, dict) and all(
        isinstance(t, str) and _NAME.match(t) for t in v), "a mapping of table names")
    if kind == "psa" or "willingness_to_pay" in doc:
        _require(doc, "currency", lambda v: isinstance(v, str) and len(v) <= 8, "a currency code")
        _require(doc, "willingness_to_pay", lambda v: isinstance(v, list) and v and all(map(_is_number, v)),
                 "a list of numbers")
    return doc


def read_manifest(folder: Path, files: bool = True) -> dict:
    """The checked manifest of the result folder ``folder`` (one-line OutputError otherwise);
    ``files``: also check every file it lists (size and SHA-256)."""
    folder = Path(folder)
    if not (folder / MANIFEST).is_file():
        raise OutputError(f"'{folder}' is not a jaksim run or PSA folder (no {MANIFEST})")
    try:
        doc = check(load(folder / MANIFEST))
        if files:
            verify_files(folder, doc)
        return doc
    except ManifestProblem as exc:
        raise OutputError(f"'{folder}' is not a readable jaksim result: {exc}") from None
