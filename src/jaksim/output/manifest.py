"""``jaksim.json``, the manifest of a result folder, read and checked before a folder is trusted.

``jaksim report`` reads a run's or PSA's tables, and ``--overwrite`` deletes a folder, only after
:func:`read_manifest` found a manifest that is jaksim's: a JSON object (at most
``MAX_MANIFEST_BYTES``) with the fields the readers use, of the right types, arm names that are
plain names (they become paths), a known ``jaksim_version``, and every file it lists present.
Any problem is one ``OutputError`` line saying what.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

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
    _require(doc, "jaksim_version", lambda v: isinstance(v, str), "a version string")
    kind = _require(doc, "kind", lambda v: v in (None, "psa"), "absent (a run) or 'psa'")
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


def read_manifest(folder: Path) -> dict:
    """The checked manifest of the result folder ``folder`` (one-line OutputError otherwise)."""
    folder = Path(folder)
    if not (folder / MANIFEST).is_file():
        raise OutputError(f"'{folder}' is not a jaksim run or PSA folder (no {MANIFEST})")
    try:
        return check(load(folder / MANIFEST))
    except ManifestProblem as exc:
        raise OutputError(f"'{folder}' is not a readable jaksim result: {exc}") from None
