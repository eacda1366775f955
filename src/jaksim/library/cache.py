"""The checked library kept between processes as JSON, keyed by the SHA-256 of its files.

Reading and checking the library's YAML files (about 8,000 lines with their line numbers,
schema and cross-references) takes 0.1-0.15 s, as much as the rest of ``jaksim validate``.
Once a folder's files have passed every check, their parsed data are written as one JSON file
named by the SHA-256 of the jaksim version and every file's bytes; a later process reading the
same bytes loads that JSON (a few ms) instead. Any change of a file changes the name, so a
stale entry is never read; JSON only, so reading the cache runs no code. The folder is
``$JAKSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/jaksim``, else ``~/.cache/jaksim``;
``JAKSIM_CACHE_DIR=`` (empty) turns it off. A cache that cannot be written is skipped silently.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from jaksim import __version__

ENV_VAR = "JAKSIM_CACHE_DIR"


def cache_dir() -> Path | None:
    """Where checked libraries are kept (None: caching off)."""
    env = os.environ.get(ENV_VAR)
    if env is not None:
        return Path(env).expanduser() if env else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jaksim"


def _path(root: Path, names: tuple[str, ...]) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    h = hashlib.sha256(f"jaksim {__version__} library cache v1".encode())
    for name in names:
        try:
            data = (root / name).read_bytes()
        except OSError:
            return None
        h.update(name.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    return folder / f"library-{h.hexdigest()}.json"


def read(root: Path, names: tuple[str, ...]) -> dict[str, dict] | None:
    """The checked data of every file, if this exact library was checked before."""
    p = _path(root, names)
    if p is None or not p.is_file():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and set(data) == set(names) else None


def write(root: Path, names: tuple[str, ...], files: dict[str, dict]) -> None:
    """Keep the checked data (only when JSON gives them back exactly: no non-string keys)."""
    p = _path(root, names)
    if p is None:
        return
    try:
        text = json.dumps(files, ensure_ascii=False)
        if json.loads(text) != files:
            return
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".library-", suffix=".json", dir=p.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, p)
    except (OSError, TypeError, ValueError):
        return
