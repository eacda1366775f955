"""Safe YAML loading that remembers the line of every key.

PyYAML's SafeLoader, with YAML 1.2 core-schema scalars instead of YAML 1.1's: ``1e5`` is a
number; only ``true``/``false`` are booleans (``yes``, ``no``, ``on``, ``off`` are strings, so an
arm named ``no`` stays ``"no"``); integers are decimal (``012345`` is 12345, not octal 5349),
``0o``/``0x`` prefixed, never sexagesimal (``1:30`` is a string, not 90). Duplicate keys are
errors, and each key path maps to its line so that validation errors can point at it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from jaksim.errors import ScenarioError

Lines = dict[tuple, int]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema booleans, integers and floats (``1e5``, ``2.5E-3``)."""


_YAML11_ONLY = ("tag:yaml.org,2002:float", "tag:yaml.org,2002:int", "tag:yaml.org,2002:bool")
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


def _construct(node: yaml.Node, loader: _Loader, path: tuple, lines: Lines, file: str) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict = {}
        for key_node, value_node in node.value:
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
            out[key] = _construct(value_node, loader, path + (key,), lines, file)
            lines[path + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, loader, path + (i,), lines, file) for i, v in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def load_yaml_text(text: str, file: str = "<string>") -> tuple[Any, Lines]:
    """Parse YAML text; return the data and a map from key path to line number."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        lines: Lines = {}
        return _construct(node, loader, (), lines, file), lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        raise ScenarioError(f"malformed YAML: {problem}; check indentation, colons and quotes",
                            file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"malformed YAML: {exc}", file=file) from None
    finally:
        loader.dispose()


def load_yaml_file(path: str | Path) -> tuple[Any, Lines, str]:
    """Read and parse a YAML file; return (data, lines, text)."""
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(f"file not found: '{p}'; give the path of a scenario YAML file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read the file as UTF-8 text ({exc})", file=str(p)) from None
    data, lines = load_yaml_text(text, str(p))
    return data, lines, text
