"""One run at a time per results folder: a lock file next to it that names its holder.

``.<out>.jaksim.lock`` is created exclusively (``O_EXCL``) with the holder's host and process
id before anything is written, and removed when the run ends. A second run to the same folder
fails at once with a one-line error naming the holder. A lock left by a process of this host
that is gone (killed) is stale and taken over; a lock from another host cannot be checked from
here, so the error says how to remove it if that run is gone.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from jaksim.errors import OutputError


def process_alive(pid: int) -> bool:
    """Whether a process of this host with id ``pid`` exists (owned by anyone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:     # exists, owned by someone else
        return True
    return True


class FolderLock:
    """The lock of the results folder ``final`` (see the module docstring)."""

    def __init__(self, final: Path):
        self.final = Path(final)
        self.path = self.final.parent / f".{self.final.name}.jaksim.lock"
        self.held = False

    def acquire(self) -> None:
        """Take the lock, or raise OutputError naming the run that holds it."""
        host = socket.gethostname()
        me = {"host": host, "pid": os.getpid(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self._owner()
                if owner is not None and owner["host"] == host and (owner["pid"] == os.getpid()
                                                                     or not process_alive(owner["pid"])):
                    self.path.unlink(missing_ok=True)      # stale: its process is gone (or is this one)
                    continue
                raise self._busy(owner) from None
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            self.held = True
            return
        raise self._busy(self._owner())

    def release(self) -> None:
        """Remove the lock if this object holds it."""
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def _owner(self) -> dict | None:
        try:
            owner = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        ok = isinstance(owner, dict) and isinstance(owner.get("host"), str) and type(owner.get("pid")) is int
        return owner if ok else None

    def _busy(self, owner: dict | None) -> OutputError:
        who = (f"process {owner['pid']} on host '{owner['host']}', started {owner.get('started', '?')}"
               if owner else "a run whose lock file cannot be read")
        return OutputError(f"--out '{self.final}' is being written by another jaksim run ({who}); wait for it "
                           f"to finish or choose another folder; if that run is gone, remove '{self.path}'")
