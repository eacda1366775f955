"""The one loader of the parameter library: every file read, checked and cached here.

Files of a library folder: ``parameters.yaml``, ``source_populations.yaml``, ``vaccines.yaml``,
``economics.yaml``, ``evidence.yaml`` (baselines and relative effects) and the life tables (CSV)
that ``parameters.yaml`` names. Each YAML file is
parsed with the line of every key (``jaksim.scenario.yamlfile``), validated against its
schema (``schema.py``) and checked for references between entries (a rate's drug, dose and
infection type exist, no entry is given twice, ...). Any problem is a :class:`LibraryError`
of one line, ``file:line: key.path: problem (got ...)``, which the command line reports with
exit code 2.

The folder is the package's ``jaksim/library`` unless the environment variable
``JAKSIM_LIBRARY`` names another one (a full copy of the folder, edited): the way to run
the model, or a test, on a changed library without touching the installed package. Every
function also takes the folder as an argument. Files are read once per process and folder
(cached); callers must not change the returned data (copy it first, as the PSA does).
"""

from __future__ import annotations

import csv
import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ValidationError

from jaksim.errors import LibraryError, ScenarioError
from jaksim.library import cache as library_cache
from jaksim.library.entries import Library, LifeTable, Sourced
from jaksim.scenario.yamlfile import (
    Limits,
    Lines,
    TooDeep,
    _construct,
    _Loader,
    check_depth,
    construct_bool,
    construct_int,
    read_text,
    reader_error,
)

#: environment variable naming a library folder to use instead of the package's
ENV_VAR = "JAKSIM_LIBRARY"
#: YAML files of a library folder (the schema of each: :func:`file_schema`)
FILES: tuple[str, ...] = ("parameters.yaml", "source_populations.yaml", "vaccines.yaml", "economics.yaml",
                          "evidence.yaml")


def file_schema(name: str) -> type[BaseModel]:
    """The schema of one library file.

    The schemas and cross-checks (``schema.py``, ``evidence_schema.py``, ``checks.py``) are
    imported when a file is checked: a library read from its cache (``cache.py``) needs none of
    them, and building their classes is part of every run's start-up otherwise (issue 11).
    """
    from jaksim.library import evidence_schema, schema
    schemas: dict[str, type[BaseModel]] = {
        "parameters.yaml": schema.ParametersFile, "source_populations.yaml": schema.SourcePopulationsFile,
        "vaccines.yaml": schema.VaccinesFile, "economics.yaml": schema.EconomicsFile,
        "evidence.yaml": evidence_schema.EvidenceFile}
    return schemas[name]
LIFE_TABLE_COLUMNS = ("age", "male_qx", "female_qx")


def library_root(root: str | Path | None = None) -> Path:
    """The library folder: ``root`` if given, else ``$JAKSIM_LIBRARY``, else the package's.

    Parameters
    ----------
    root : str or Path, optional
        A folder holding the library files (a full, possibly edited, copy of ``jaksim/library``).

    Returns
    -------
    Path
        The folder to read. Raises LibraryError when ``$JAKSIM_LIBRARY`` is not a folder.
    """
    if root is not None:
        return Path(root)
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise LibraryError(f"{ENV_VAR} must name a folder holding {', '.join(FILES)} (got '{env}')")
        return path
    return Path(str(resources.files("jaksim") / "library"))


# ----------------------------------------------------------------------- YAML files
class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser (about 3× faster on ``parameters.yaml``) with yamlfile's resolvers."""


_FastLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
_FastLoader.add_constructor("tag:yaml.org,2002:int", construct_int)
_FastLoader.add_constructor("tag:yaml.org,2002:bool", construct_bool)


#: a library file larger than this is refused unread (``evidence.yaml``, the largest, has 0.3 MB)
MAX_LIBRARY_BYTES = 16 << 20
#: most values in one library file once aliases are expanded (``evidence.yaml`` has about 12,000)
MAX_LIBRARY_NODES = 500_000


def _parse(path: Path) -> tuple[Any, Lines]:
    """Parse a YAML file; return its data and the line of every key path."""
    file = str(path)
    try:
        text = read_text(path, MAX_LIBRARY_BYTES, "a library file")
    except OSError as exc:
        raise LibraryError(f"cannot read the library file ({exc.strerror or exc})", file=file) from None
    except ValueError as exc:
        raise LibraryError(f"cannot read the library file: {exc}", file=file) from None
    loader = None
    try:
        loader = _FastLoader(text)
        check_depth(yaml.parse(text, Loader=_FastLoader))    # libyaml's composer recurses without a limit
        node = loader.get_single_node()
        lines: Lines = {}
        return (_construct(node, loader, (), lines, file, Limits(MAX_LIBRARY_NODES))
                if node is not None else None), lines
    except ScenarioError as exc:   # duplicate or non-scalar key, raised by yamlfile
        raise LibraryError(exc.detail, file=file, line=exc.line, path=exc.path) from None
    except yaml.reader.ReaderError as exc:
        problem, line = reader_error(exc, text)
        raise LibraryError(problem, file=file, line=line) from None
    except TooDeep as exc:
        raise LibraryError(str(exc.problem), file=file, line=exc.problem_mark.line + 1, path=exc.path) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(exc.problem or exc).split())
        raise LibraryError(f"malformed YAML: {problem}; check indentation, colons and quotes",
                           file=file, line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise LibraryError(f"malformed YAML: {' '.join(str(exc).split())}", file=file) from None
    finally:
        if loader is not None:
            loader.dispose()


def _validate(name: str, root: Path) -> tuple[dict, Lines]:
    """Parse and validate one YAML file of the library (schema only)."""
    from jaksim.library import checks
    path = root / name
    model = file_schema(name)
    data, lines = _parse(path)
    if not isinstance(data, dict):
        raise LibraryError(f"must be a YAML mapping with keys {', '.join(model.model_fields)} "
                           f"(got {'an empty file' if data is None else type(data).__name__})", file=str(path))
    try:
        model.model_validate(data)
    except ValidationError as exc:
        raise checks.schema_error(exc, model, str(path), lines) from None
    return data, lines


def _checked(name: str, root: Path, parameters: dict | None) -> dict:
    """One file parsed, validated against its schema and checked against ``parameters.yaml``."""
    from jaksim.library import checks
    data, lines = _validate(name, root)
    where = checks.Where(str(root / name), lines)
    if name == "parameters.yaml":
        checks.check_parameters(data, where)
    elif name == "source_populations.yaml":
        checks.check_source_populations(data, parameters or {}, where)
    elif name == "economics.yaml":
        checks.check_economics(data, parameters or {}, where)
    elif name == "evidence.yaml":
        checks.check_evidence(data, parameters or {}, where)
    return data


@cache
def _load_all(root: Path) -> dict[str, dict]:
    """Every YAML file of a folder, checked; from the cache when these exact files were checked."""
    names = tuple(FILES)
    hit = library_cache.read(root, names)
    if hit is not None:
        return hit
    out = {"parameters.yaml": _checked("parameters.yaml", root, None)}
    for name in names:
        if name not in out:
            out[name] = _checked(name, root, out["parameters.yaml"])
    library_cache.write(root, names, out)
    return out


def _load(name: str, root: Path) -> dict:
    return _load_all(root)[name]


def load_parameters(root: str | Path | None = None) -> dict:
    """``parameters.yaml`` of the library folder, validated (cached; do not modify)."""
    return _load("parameters.yaml", library_root(root))


def load_source_populations(root: str | Path | None = None) -> dict:
    """``source_populations.yaml``, validated against its schema and ``parameters.yaml``."""
    return _load("source_populations.yaml", library_root(root))


def load_vaccines(root: str | Path | None = None) -> dict:
    """``vaccines.yaml``: zoster vaccine efficacy and waning, PHN probability by age."""
    return _load("vaccines.yaml", library_root(root))


def load_evidence(root: str | Path | None = None) -> dict:
    """``evidence.yaml``: baseline risks, trials and relative effects (validated, cached)."""
    return _load("evidence.yaml", library_root(root))


def load_economics(root: str | Path | None = None) -> dict:
    """``economics.yaml``: discounting presets, costs, utilities."""
    return _load("economics.yaml", library_root(root))


# ----------------------------------------------------------------------- life tables
def read_life_table(path: str | Path, name: str, source: Sourced) -> LifeTable:
    """Read a life table CSV: columns ``age,male_qx,female_qx``, one row per integer age.

    Lines starting with ``#`` are comments. Ages must be consecutive; q_x (annual death
    probability) must lie in [0, 1]. Not cached: a user's CSV may change between runs.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    name : str
        The table's name in provenance records.
    source : Sourced
        Its citation and status (``value`` unused).

    Returns
    -------
    LifeTable
        Raises LibraryError naming the file, line and column of the first problem.
    """
    file = str(path)
    try:
        text = read_text(Path(path), MAX_LIBRARY_BYTES, "a life table")
    except OSError as exc:
        raise LibraryError(f"cannot read the life table ({exc.strerror or exc})", file=file) from None
    except ValueError as exc:
        raise LibraryError(f"cannot read the life table: {exc}", file=file) from None
    numbered = [(n, line) for n, line in enumerate(text.splitlines(keepends=True), start=1)
                if not line.startswith("#")]
    rows = [(n, row) for (n, _), row in zip(numbered, csv.reader(line for _, line in numbered), strict=False) if row]
    if not rows:
        raise LibraryError("no rows; a life table has columns age,male_qx,female_qx", file=file)
    header_line, header = rows[0]
    header = [h.strip() for h in header]
    missing = [c for c in LIFE_TABLE_COLUMNS if c not in header]
    if missing or len(rows) < 2:
        raise LibraryError(f"missing column '{missing[0]}'; the columns must be age,male_qx,female_qx "
                           f"(got {', '.join(header)})" if missing else "no rows below the header",
                           file=file, line=header_line, path=missing[0] if missing else None)
    cols = [header.index(c) for c in LIFE_TABLE_COLUMNS]
    table = np.empty((len(rows) - 1, 3))
    for i, (line, row) in enumerate(rows[1:]):
        for j, (col, c) in enumerate(zip(LIFE_TABLE_COLUMNS, cols, strict=False)):
            table[i, j] = _cell(row, c, col, file, line)
    ages = table[:, 0].astype(np.int64)
    _check_life_table(ages, table, [n for n, _ in rows[1:]], file)
    return LifeTable(name, ages, table[:, 1].copy(), table[:, 2].copy(), source)


def _cell(row: list[str], index: int, column: str, file: str, line: int) -> float:
    """One number of a life table row."""
    if index >= len(row) or not row[index].strip():
        raise LibraryError(f"missing value (got {len(row)} columns: {','.join(row)})", file=file, line=line,
                           path=column)
    try:
        return float(row[index])
    except ValueError:
        raise LibraryError(f"must be a number (got {row[index].strip()!r})", file=file, line=line,
                           path=column) from None


def _check_life_table(ages: np.ndarray, table: np.ndarray, lines: list[int], file: str) -> None:
    """Consecutive ages and probabilities in [0, 1], else a LibraryError at the first bad row."""
    for i in np.flatnonzero(np.diff(ages) != 1)[:1]:
        raise LibraryError(f"ages must be consecutive integers (got {ages[i + 1]} after {ages[i]})",
                           file=file, line=lines[i + 1], path="age")
    for j, col in ((1, "male_qx"), (2, "female_qx")):
        bad = np.flatnonzero(~((table[:, j] >= 0) & (table[:, j] <= 1)))
        if bad.size:
            raise LibraryError(f"must lie in [0, 1] (got {table[bad[0], j]:g})", file=file,
                               line=lines[bad[0]], path=col)


# ----------------------------------------------------------------------- the library
@cache
def _library(root: Path) -> Library:
    data = _load("parameters.yaml", root)
    for name in FILES:
        _load(name, root)
    lib = Library(data, root)
    for table in lib.life_table_names():
        lib.life_table(table)      # read once to check it (the file, its columns and values)
    return lib


def load_library(root: str | Path | None = None) -> Library:
    """The parameter library of a folder, every file validated.

    Read once per process and folder; use it read-only (a PSA draw builds its own Library
    from copies of ``data`` and ``vaccines``).

    Parameters
    ----------
    root : str or Path, optional
        The library folder (default: ``library_root()``: ``$JAKSIM_LIBRARY`` or the package's).

    Returns
    -------
    Library
        Look-ups into ``parameters.yaml`` and ``vaccines.yaml``; ``source_populations.yaml``,
        ``economics.yaml`` and the life tables are checked too. Raises LibraryError
        (``file:line: key.path: problem``) for the first problem found.
    """
    return _library(library_root(root))
