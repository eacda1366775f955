"""Exceptions: one base class, one subclass per kind of user mistake.

User mistakes (`JaksimError` and subclasses) are shown as one line and exit code 2;
anything else is an internal fault (exit code 1, traceback with ``--debug``).
"""

from __future__ import annotations


class JaksimError(Exception):
    """Base class of every error caused by user input."""


class ScenarioError(JaksimError):
    """A scenario file that cannot be loaded or validated.

    The message names the file, line, key path, the bad value and what is allowed.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 path: str | None = None):
        self.file, self.line, self.path, self.detail = file, line, path, message
        #: further problems of the same file (``jaksim validate`` shows them too, up to 20 in all)
        self.more: list[ScenarioError] = []
        super().__init__(_located(message, file, line, path))


class CohortFileError(JaksimError):
    """A user-supplied patient table with a missing or malformed column."""


class OutputError(JaksimError):
    """An output folder that cannot be used (not empty, not writable)."""


class LibraryError(JaksimError):
    """A parameter library file that fails its schema, or a parameter the library does not have.

    Like ScenarioError, the message names the file, line and key path where they are known
    (``parameters.yaml:412: hazard_ratios.3.covariate: ...``).
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 path: str | None = None):
        self.file, self.line, self.path, self.detail = file, line, path, message
        #: further problems of the same file (``jaksim validate`` shows them too, up to 20 in all)
        self.more: list[ScenarioError] = []
        super().__init__(_located(message, file, line, path))


def _located(message: str, file: str | None, line: int | None, path: str | None) -> str:
    """``file:line: key.path: message``, leaving out the parts that are unknown."""
    where = ""
    if file:
        where = f"{file}:{line}: " if line else f"{file}: "
    key = f"{path}: " if path else ""
    return f"{where}{key}{message}"
