"""A results folder replaced in one atomic step, with the work of a killed run kept for ``--resume``.

A run or PSA works in a hidden sibling of its results folder ``<out>``::

    .<out>.jaksim-tmp-<pid>/checkpoint.json   where the run stands (``run/checkpoint.py``)
    .<out>.jaksim-tmp-<pid>/psa-draws/        a PSA's finished draws
    .<out>.jaksim-tmp-<pid>/result/           the result being built: tables and, last, jaksim.json
    .<out>.jaksim-tmp-<pid>/commit.json       written just before the result is put in place

:meth:`OutputFolder.commit` (issue 17, finding 8): every part was fsynced when closed; the
manifest is written atomically, every folder of the result fsynced, ``commit.json`` records the
result folder's identity (device, inode), then ONE step puts the result in place: an atomic
swap with the old ``<out>`` (``renameat2(RENAME_EXCHANGE)``) or a rename where there is none.
The work folder (now holding the old result) is removed afterwards, checkpoint first and
``commit.json`` last. So a kill at any moment leaves ``<out>`` holding the old result or the
new one, complete; the next run to ``<out>`` (:func:`settle`) removes a work folder whose
result is in place already (``<out>`` has the identity ``commit.json`` recorded) and keeps
any other with its checkpoint, so ``--resume`` finishes it without simulating again (a run
saves a checkpoint after its last segment; a PSA's draws are all kept). Where the swap is not
available, the old ``<out>`` is first renamed into the work folder (``old``); a kill between
that and the second rename is repaired by :func:`settle` rolling the complete new result
forward, the only moment at which ``<out>`` is briefly missing.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from jaksim.errors import OutputError
from jaksim.output import atomic
from jaksim.output import manifest as manifests
from jaksim.output.lock import FolderLock, process_alive
from jaksim.output.manifest import MANIFEST

CHECKPOINT = "checkpoint.json"   # written and read by jaksim.run.checkpoint (JSON, never code)
RESULT = "result"
COMMIT = "commit.json"
OLD = "old"


def _at(moment: str) -> None:
    """A named moment of the final commit (tests stop the process here to check crash safety)."""


def find_partial(final: Path) -> list[Path]:
    """Hidden work folders of earlier runs to ``final`` whose process is gone (killed) or that
    an interrupted run of this process kept, newest first."""
    final = Path(final)
    found = []
    for p in final.parent.glob(f".{final.name}.jaksim-tmp-*"):
        pid = p.name.rsplit("-", 1)[-1]
        # this process's own folder too: a run here that ended keeping its partial work
        if p.is_dir() and pid.isdigit() and (int(pid) == os.getpid() or not process_alive(int(pid))):
            found.append(p)
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def settle(work: Path, final: Path) -> bool:
    """Finish what a commit killed in ``work`` left; True when ``work`` holds work to resume.

    With ``commit.json``: the result it names is in place already (``final`` has its identity)
    → the folder is leftovers, removed; ``final`` is missing while the old result waits in
    ``work/old`` (the two-rename fallback) → the new result is rolled forward into place;
    otherwise the result never reached ``final`` → the marker goes and the work stays.
    """
    marker = work / COMMIT
    if marker.is_file():
        try:
            doc = json.loads(marker.read_text(encoding="utf-8"))
            recorded = (int(doc["dev"]), int(doc["ino"]))
        except (OSError, ValueError, KeyError, TypeError):
            recorded = None
        result = work / RESULT
        if recorded is not None and _identity(final) == recorded:
            _remove_work(work)
            return False
        if recorded is not None and not final.exists() and (work / OLD).is_dir() and _identity(result) == recorded:
            os.replace(result, final)
            atomic.fsync_dir(final.parent)
            _remove_work(work)
            return False
        marker.unlink()
        atomic.fsync_dir(work)
    if (work / CHECKPOINT).is_file():
        return True
    shutil.rmtree(work, ignore_errors=True)       # nothing to resume (killed before a checkpoint)
    return False


def _remove_work(work: Path) -> None:
    """Remove a work folder whose result is in place: checkpoint first (it no longer describes
    what the folder holds), ``commit.json`` last (until then :func:`settle` recognises it)."""
    (work / CHECKPOINT).unlink(missing_ok=True)
    atomic.fsync_dir(work)
    _at("cleanup-started")
    for entry in work.iterdir():
        if entry.name != COMMIT:
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    _at("cleanup-marker-left")
    (work / COMMIT).unlink(missing_ok=True)
    work.rmdir()


class OutputFolder:
    """A results folder created atomically: built in a hidden work folder, put in place when
    done (see the module docstring).

    ``resume``: take over the newest kept work a killed run left (completed parts, checkpoint,
    finished PSA draws) instead of starting empty. Without it, such work is an error (resume
    it, or give ``overwrite`` to start again), so that no completed work is dropped silently.
    """

    def __init__(self, final: Path, overwrite: bool, resume: bool = False):
        self.final = Path(final)
        self.overwrite = overwrite
        self.lock = FolderLock(self.final)
        if self.final.exists() and not self.final.is_dir():
            raise OutputError(f"--out '{self.final}' is a file, not a folder; give a folder path")
        try:
            self.lock.acquire()                     # one run at a time per folder
        except OSError as exc:                      # read-only, full, under a file, ...
            raise unwritable(self.final, exc) from None
        try:
            self._prepare(overwrite, resume)
        except BaseException as exc:
            self.lock.release()
            if isinstance(exc, OSError):
                raise unwritable(self.final, exc) from None
            raise

    def _prepare(self, overwrite: bool, resume: bool) -> None:
        """Take over the newest kept work (``resume``) or start an empty work folder."""
        self.tmp = self.final.parent / f".{self.final.name}.jaksim-tmp-{os.getpid()}"
        # leftovers of a killed commit first (what settle leaves decides what is in place)
        partial = [p for p in find_partial(self.final) if settle(p, self.final)]
        check_output_folder(self.final, overwrite)
        self.resumed = False
        if resume:
            if not partial:
                raise OutputError(f"--resume: no interrupted run to continue for '{self.final}' (nothing "
                                  "left by a killed run next to it); run without --resume")
            if partial[0] != self.tmp:
                if self.tmp.exists():
                    shutil.rmtree(self.tmp)
                os.replace(partial[0], self.tmp)
            for p in partial[1:]:
                if p != self.tmp:
                    shutil.rmtree(p, ignore_errors=True)
            for leftover in self.tmp.rglob("*.tmp"):    # the segment that was being written
                leftover.unlink()
            self.result.mkdir(exist_ok=True)
            self.resumed = True
            return
        if partial and not overwrite:
            raise OutputError(f"an interrupted run to '{self.final}' left completed work in '{partial[0]}'; "
                              "give --resume to continue it, or --overwrite to start again")
        for p in partial:
            shutil.rmtree(p, ignore_errors=True)
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        self.result.mkdir(parents=True)

    @property
    def result(self) -> Path:
        """The result being built (put in place as ``final`` by :meth:`commit`)."""
        return self.tmp / RESULT

    def path(self, table: str, arm: str, part: int = 0) -> Path:
        return self.result / table / f"arm={arm}" / f"part-{part:05d}.parquet"   # zero-padded: sorted = patient order

    @property
    def checkpoint(self) -> Path:
        return self.tmp / CHECKPOINT

    def commit(self, manifest: dict, known: dict[str, list] | None = None) -> None:
        """Put the finished result in place in one step (module docstring); its manifest records
        the size and SHA-256 of every file (``known``: records already made, by relative path)."""
        doc = {**manifest, "files": manifests.file_records(self.result, known)}
        _at("manifest")
        atomic.write_atomic(self.result / MANIFEST, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode())
        _at("fsync")
        atomic.fsync_tree(self.result)
        dev, ino = _identity(self.result) or (0, 0)
        _at("marker")
        atomic.write_atomic(self.tmp / COMMIT, json.dumps({"dev": dev, "ino": ino}).encode())
        _at("rename")
        if not self.final.exists():
            os.rename(self.result, self.final)
        elif not atomic.exchange(self.result, self.final):
            os.rename(self.final, self.tmp / OLD)      # no atomic swap here: settle() repairs a kill between
            _at("between-renames")
            os.rename(self.result, self.final)
        _at("renamed")
        atomic.fsync_dir(self.final.parent)
        _remove_work(self.tmp)
        atomic.fsync_dir(self.final.parent)
        _at("cleaned")
        self.lock.release()

    def abort(self) -> None:
        """Remove the work folder and release the folder's lock."""
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.lock.release()

    def release(self) -> None:
        """Keep the work folder (for ``--resume``) and release the folder's lock."""
        self.lock.release()


def unwritable(final: Path, exc: OSError, kept: str = "") -> OutputError:
    """One line for an OS error while preparing or writing the results folder ``final``."""
    what = exc.strerror or type(exc).__name__
    name = f" '{exc.filename}'" if exc.filename else ""
    return OutputError(f"--out '{final}': cannot write there ({what}{':' if name else ''}{name}){kept}; "
                       "choose a folder you can write to, on a disk with free space")


def check_output_folder(final: Path, overwrite: bool) -> None:
    """Refuse a non-empty folder unless --overwrite, and never delete a folder jaksim did not write."""
    if final.exists() and not final.is_dir():
        raise OutputError(f"--out '{final}' is a file, not a folder; give a folder path")
    if final.is_dir() and any(final.iterdir()):
        if not overwrite:
            raise OutputError(f"--out '{final}' is not empty; give --overwrite to replace an earlier "
                              "jaksim result there, or choose another folder")
        if not (final / MANIFEST).is_file():
            raise OutputError(f"--out '{final}' is not empty and holds no jaksim result ({MANIFEST} "
                              "missing); refusing to replace it even with --overwrite")
        why = _not_a_result(final)
        if why:
            raise OutputError(f"--out '{final}' is not a finished jaksim result ({why}); refusing to replace "
                              "it even with --overwrite; move what you want to keep, or choose another folder")


def _not_a_result(final: Path) -> str:
    """Why a folder holding a manifest is not (only) a finished jaksim result, or ''.

    ``--overwrite`` deletes the folder whole, so the manifest must be jaksim's (a JSON object
    with the fields jaksim writes, of a known jaksim version: ``output.manifest.check``) and
    every entry of the folder one that jaksim writes: the manifest, the tables it lists
    (folders or ``<table>.parquet``) and ``report``."""
    try:
        manifest = manifests.check(manifests.load(final / MANIFEST))
    except manifests.ManifestProblem as exc:
        return str(exc)
    ours = {MANIFEST, "report", "report.html", "report_figures", "export"}
    ours |= {n for t in manifest["tables"] for n in (str(t), f"{t}.parquet")}
    foreign = sorted(p.name for p in final.iterdir() if p.name not in ours)
    return f"it also holds '{foreign[0]}', which jaksim did not write" if foreign else ""
