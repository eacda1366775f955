"""Safe YAML loading that remembers the line of every key.

PyYAML's SafeLoader, with YAML 1.2 core-schema scalars instead of YAML 1.1's: ``1e5`` is a
number; only ``true``/``false`` are booleans (``yes``, ``no``, ``on``, ``off`` are strings, so an
arm named ``no`` stays ``"no"``); integers are decimal (``012345`` is 12345, not octal 5349),
``0o``/``0x`` prefixed, never sexagesimal (``1:30`` is a string, not 90); ``<<`` is a plain key
(YAML 1.1's merge keys are not read). Duplicate keys are errors, and each key path maps to its
line so that validation errors can point at it.

Resource limits (issue 17, finding 6), each a one-line error with the line: a file larger than
``MAX_SCENARIO_BYTES``, nesting deeper than ``MAX_DEPTH``, or more than ``MAX_NODES`` values
once aliases are expanded (a 2 kB "billion laughs" alias bomb is refused after ``MAX_NODES``
values, in well under a second, instead of expanding to gigabytes). A NUL or other control
character is refused with its line and column.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from jaksim.errors import ScenarioError

Lines = dict[tuple, int]

#: a scenario file larger than this is refused unread (the text is kept in every output file's metadata)
MAX_SCENARIO_BYTES = 1 << 20
#: deepest nesting of mappings and lists (scenarios use 6 levels, the library 6)
MAX_DEPTH = 32
#: most values (mapping entries, list items, scalars) in a scenario once aliases are expanded
MAX_NODES = 100_000


class Limits:
    """What one document may hold: ``depth`` levels of nesting and ``nodes`` values in all
    (aliases counted each time they are used); ``nodes_left`` counts down while constructing."""

    def __init__(self, nodes: int = MAX_NODES, depth: int = MAX_DEPTH):
        self.nodes = self.nodes_left = nodes
        self.depth = depth


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema booleans, integers and floats (``1e5``, ``2.5E-3``),
    that refuses nesting deeper than ``MAX_DEPTH`` while composing (no deep recursion)."""

    _path: list | None = None         # keys of the collections being composed (the document: None)

    def compose_node(self, parent, index):
        event = self.peek_event()
        if not isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            return super().compose_node(parent, index)
        path = self._path if self._path is not None else []
        path.append(index.value if isinstance(index, yaml.ScalarNode) else index)
        self._path = path
        try:
            if len(path) > MAX_DEPTH:
                raise _too_deep(event.start_mark, MAX_DEPTH, path[1:])
            return super().compose_node(parent, index)
        finally:
            path.pop()


_YAML11_ONLY = ("tag:yaml.org,2002:float", "tag:yaml.org,2002:int", "tag:yaml.org,2002:bool",
                "tag:yaml.org,2002:merge")
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag not in _YAML11_ONLY]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
                              list("-+0123456789"))


def construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    """A YAML 1.2 core integer: decimal (leading zeros are not octal), ``0o`` octal, ``0x`` hex."""
    text = loader.construct_scalar(node)
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def construct_bool(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool:
    """A YAML 1.2 core boolean (``true``/``false`` in three spellings)."""
    return loader.construct_scalar(node).lower() == "true"


_Loader.add_constructor("tag:yaml.org,2002:int", construct_int)
_Loader.add_constructor("tag:yaml.org,2002:bool", construct_bool)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


class TooDeep(yaml.MarkedYAMLError):
    """Nesting deeper than the limit (its ``problem`` is the whole message, ``path`` the key path)."""

    path: str | None = None


def _too_deep(mark, depth: int, path: list | None = None) -> TooDeep:
    exc = TooDeep(problem=f"nesting deeper than {depth} levels of mappings and lists is not allowed",
                  problem_mark=mark)
    keys = [str(k) for k in (path or []) if k is not None]
    exc.path = ".".join(keys[:8]) + (".…" if len(keys) > 8 else "") if keys else None
    return exc


def check_depth(events, depth: int = MAX_DEPTH) -> None:
    """Raise TooDeep at the first mapping or list nested deeper than ``depth`` in a stream of
    parse events (for parsers whose composer recurses without a limit: libyaml's)."""
    level = 0
    for event in events:
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            level += 1
            if level > depth:
                raise _too_deep(event.start_mark, depth)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            level -= 1


def _count(node: yaml.Node, path: tuple, limits: Limits, file: str) -> None:
    """Charge one value to ``limits``; a one-line error past the node budget or the depth."""
    limits.nodes_left -= 1
    keys = list(map(str, path))
    where = {"file": file, "line": node.start_mark.line + 1,
             "path": ".".join(keys[:8]) + (".…" if len(keys) > 8 else "") or None}
    if limits.nodes_left < 0:
        raise ScenarioError(f"more than {limits.nodes:,} values once aliases (*name) are expanded; "
                            "refusing what looks like an alias bomb (use fewer aliases)", **where)
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and len(path) >= limits.depth:
        raise ScenarioError(f"nesting deeper than {limits.depth} levels of mappings and lists is not allowed",
                            **where)


#: the only tags of mappings and lists (a tag such as !!python/object never chooses what is built)
_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _construct(node: yaml.Node, loader, path: tuple, lines: Lines, file: str,
               limits: Limits | None = None) -> Any:
    """The data of ``node`` (dicts with string keys, lists, scalars), recording the line of every
    key path in ``lines``; aliases are expanded within ``limits`` (default: a scenario's)."""
    limits = limits if limits is not None else Limits()
    _count(node, path, limits, file)
    lines[path] = node.start_mark.line + 1
    if node.tag not in _PLAIN_TAGS and not isinstance(node, yaml.ScalarNode):
        raise ScenarioError(f"the tag '{node.tag.replace('tag:yaml.org,2002:', '!!')}' is not allowed; write plain "
                            "mappings, lists and values", file=file, line=node.start_mark.line + 1,
                            path=".".join(map(str, path)) or None)
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ScenarioError("mapping keys must be plain names, not mappings or lists", file=file,
                                    line=key_node.start_mark.line + 1, path=".".join(map(str, path)) or None)
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)):
                raise ScenarioError("mapping keys must be plain names", file=file,
                                    line=key_node.start_mark.line + 1,
                                    path=".".join(map(str, path)) or None)
            if key in out:
                raise ScenarioError(
                    f"duplicate key '{key}' (first given on line {lines[path + (key,)]}); "
                    "give each key once", file=file, line=key_node.start_mark.line + 1,
                    path=".".join(map(str, path + (key,))))
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _construct(value_node, loader, path + (key,), lines, file, limits)
            lines[path + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, loader, path + (i,), lines, file, limits) for i, v in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def reader_error(exc: yaml.reader.ReaderError, text: str) -> tuple[str, int]:
    """(problem, line) of a character YAML does not allow (NUL, other control characters)."""
    position = max(0, min(int(exc.position), len(text)))
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
    name = {0: "NUL", 0x7F: "DEL", 0xFEFF: "byte-order mark"}.get(code, "a control character")
    return (f"character U+{code:04X} ({name}) at column {column} is not allowed in YAML; remove it "
            "(only tabs, line breaks and printable characters are)"), line


def load_yaml_text(text: str, file: str = "<string>") -> tuple[Any, Lines]:
    """Parse YAML text; return the data and a map from key path to line number."""
    if len(text) > MAX_SCENARIO_BYTES:
        raise ScenarioError(f"the text has {len(text):,} characters; a scenario may have at most "
                            f"{MAX_SCENARIO_BYTES:,}", file=file)
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return None, {}
        lines: Lines = {}
        return _construct(node, loader, (), lines, file), lines
    except yaml.reader.ReaderError as exc:
        problem, at = reader_error(exc, text)
        raise ScenarioError(problem, file=file, line=at) from None
    except TooDeep as exc:
        raise ScenarioError(str(exc.problem), file=file, line=exc.problem_mark.line + 1, path=exc.path) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(str(exc.problem or exc).split())
        raise ScenarioError(f"malformed YAML: {problem}; check indentation, colons and quotes",
                            file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"malformed YAML: {' '.join(str(exc).split())}", file=file) from None
    except RecursionError:     # not expected (nesting is limited), but never a traceback
        raise ScenarioError(f"nesting deeper than {MAX_DEPTH} levels of mappings and lists is not allowed",
                            file=file) from None
    finally:
        if loader is not None:
            loader.dispose()


def read_text(p: Path, max_bytes: int, what: str) -> str:
    """The UTF-8 text of a file of at most ``max_bytes`` (ValueError with the reason otherwise)."""
    with open(p, "rb") as f:
        raw = f.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ValueError(f"the file is larger than {max_bytes:,} bytes, the most {what} may have")
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ValueError("the file is UTF-16 text; save it as UTF-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ValueError(f"the file is not UTF-8 text (byte {exc.start + 1}, line {line}: "
                         f"{raw[exc.start:exc.start + 1]!r}); save it as UTF-8") from None


def load_yaml_file(path: str | Path) -> tuple[Any, Lines, str]:
    """Read and parse a YAML file; return (data, lines, text)."""
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(f"file not found: '{p}'; give the path of a scenario YAML file")
    try:
        text = read_text(p, MAX_SCENARIO_BYTES, "a scenario")
    except OSError as exc:
        raise ScenarioError(f"cannot read the file ({exc.strerror or exc})", file=str(p)) from None
    except ValueError as exc:
        raise ScenarioError(str(exc), file=str(p)) from None
    data, lines = load_yaml_text(text, str(p))
    return data, lines, text
