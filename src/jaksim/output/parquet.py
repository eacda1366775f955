"""Parquet output: a hive-partitioned dataset written atomically, chunk by chunk.

Layout of a run folder::

    <out>/jaksim.json                              manifest (no timestamps)
    <out>/{events,patients}/arm=<arm>/part-<k>.parquet   k = 00000, 00001, ...: one per checkpoint segment
    <out>/{summary,contrasts,economics}/arm=<arm>/part-00000.parquet

Rows are regrouped into fixed-size row groups, so files are byte-identical whatever the
chunk size. The run is written into a hidden sibling folder and renamed into place when
complete: a failed or killed run never leaves a half-written ``<out>``. Completed segments and
a checkpoint stay in the hidden folder of a killed or interrupted run, which ``--resume``
continues (``find_partial``).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from jaksim.errors import OutputError
from jaksim.output import manifest as manifests
from jaksim.output.lock import FolderLock, process_alive
from jaksim.output.manifest import MANIFEST

ROW_GROUP_ROWS = 1 << 17
TABLES = ("events", "patients", "summary", "contrasts")


class RowGroupWriter:
    """Appends record batches to one Parquet file in row groups of a fixed size."""

    def __init__(self, path: Path, schema: pa.Schema, rows_per_group: int = ROW_GROUP_ROWS):
        self.final = path
        self.tmp = path.with_name(path.name + ".tmp")
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.schema = schema
        self.rows = rows_per_group
        self._pending: list[pa.RecordBatch] = []
        self._n_pending = 0
        self._written = False
        # Parquet dictionary encoding only for the categorical (Arrow dictionary) columns:
        # numeric columns gain little from it and it doubles the write time.
        categorical = [f.name for f in schema if pa.types.is_dictionary(f.type)]
        self._writer = pq.ParquetWriter(self.tmp, schema, compression="snappy", use_dictionary=categorical,
                                        write_statistics=True, store_schema=True)

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self._pending.append(batch)
        self._n_pending += batch.num_rows
        while self._n_pending >= self.rows:
            self._flush(self.rows)

    def _flush(self, n: int) -> None:
        table = pa.Table.from_batches(self._pending, schema=self.schema)
        head, tail = table.slice(0, n), table.slice(n)
        self._writer.write_table(head, row_group_size=n)
        self._written = True
        self._pending = tail.to_batches()
        self._n_pending = tail.num_rows

    def close(self) -> None:
        if self._n_pending:
            self._flush(self._n_pending)
        if not self._written:
            self._writer.write_table(self.schema.empty_table())
        self._writer.close()
        os.replace(self.tmp, self.final)

    def abort(self) -> None:
        try:
            self._writer.close()
        finally:
            self.tmp.unlink(missing_ok=True)


class WriteQueue:
    """Record batches written to their RowGroupWriters on one background thread, in the order
    they were put, so that Parquet encoding (which releases the GIL) overlaps the simulation of
    the next chunk. Same files as writing inline; at most ``max_pending`` batches wait, so
    memory stays bounded. An error of the writing thread is raised in the caller at its next
    ``put`` or ``drain``."""

    def __init__(self, max_pending: int = 16):
        self._queue: queue.Queue = queue.Queue(max_pending)
        self._error: BaseException | None = None
        self._cancelled = False
        self._thread = threading.Thread(target=self._work, name="jaksim-parquet-writer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                if self._error is None and not self._cancelled:
                    writer, batch = item
                    writer.write(batch)
            except BaseException as exc:          # handed to the caller
                self._error = exc
            finally:
                self._queue.task_done()

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, writer: RowGroupWriter, batch: pa.RecordBatch) -> None:
        self._check()
        self._queue.put((writer, batch))

    def drain(self) -> None:
        """Wait until every batch put so far is written (before closing their writers)."""
        self._queue.join()
        self._check()

    def close(self, cancel: bool = False) -> None:
        """Stop the thread, after writing what is queued (or dropping it: ``cancel``)."""
        self._cancelled = cancel
        self._queue.put(None)
        self._thread.join()
        if not cancel:
            self._check()


def with_metadata(schema: pa.Schema, metadata: dict[str, str]) -> pa.Schema:
    """Schema carrying jaksim's key-value metadata (scenario, parameters, seed, versions)."""
    return schema.with_metadata({k.encode(): v.encode() for k, v in metadata.items()})


CHECKPOINT = "checkpoint.json"   # written and read by jaksim.run.checkpoint (JSON, never code)


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


class OutputFolder:
    """A results folder created atomically: build in a hidden sibling, rename when done.

    ``resume``: take over the newest hidden folder a killed run left (with its completed
    parts and checkpoint) instead of starting empty. Without it, such a folder is an error
    (resume it, or give ``overwrite`` to start again), so that no completed work is dropped
    silently; hidden folders that hold no checkpoint hold nothing to resume and are removed.
    """

    def __init__(self, final: Path, overwrite: bool, resume: bool = False):
        self.final = Path(final)
        self.overwrite = overwrite
        self.lock = FolderLock(self.final)
        try:
            check_output_folder(self.final, overwrite)
            self.lock.acquire()                     # one run at a time per folder
        except OSError as exc:                      # read-only, full, not a folder, ...
            raise unwritable(self.final, exc) from None
        try:
            self._prepare(overwrite, resume)
        except BaseException as exc:
            self.lock.release()
            if isinstance(exc, OSError):
                raise unwritable(self.final, exc) from None
            raise

    def _prepare(self, overwrite: bool, resume: bool) -> None:
        """Take over the newest kept partial work (``resume``) or start an empty hidden folder."""
        self.tmp = self.final.parent / f".{self.final.name}.jaksim-tmp-{os.getpid()}"
        partial = []
        for p in find_partial(self.final):
            if (p / CHECKPOINT).is_file():
                partial.append(p)
            else:
                shutil.rmtree(p, ignore_errors=True)
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
            self.resumed = True
            return
        if partial and not overwrite:
            raise OutputError(f"an interrupted run to '{self.final}' left completed work in '{partial[0]}'; "
                              "give --resume to continue it, or --overwrite to start again")
        for p in partial:
            shutil.rmtree(p, ignore_errors=True)
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        self.tmp.mkdir()

    def path(self, table: str, arm: str, part: int = 0) -> Path:
        return self.tmp / table / f"arm={arm}" / f"part-{part:05d}.parquet"   # zero-padded: sorted = patient order

    @property
    def checkpoint(self) -> Path:
        return self.tmp / CHECKPOINT

    def commit(self, manifest: dict, known: dict[str, list] | None = None) -> None:
        """Put the finished result in place with its manifest, which records the size and SHA-256
        of every file (``known``: records already made, by relative path)."""
        self.checkpoint.unlink(missing_ok=True)
        manifest = {**manifest, "files": manifests.file_records(self.tmp, known)}
        (self.tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        old = None
        if self.final.exists():
            old = self.final.parent / f".{self.final.name}.jaksim-old-{os.getpid()}"
            os.replace(self.final, old)
        os.replace(self.tmp, self.final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
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
    ours = {MANIFEST, "report"} | {n for t in manifest["tables"] for n in (str(t), f"{t}.parquet")}
    foreign = sorted(p.name for p in final.iterdir() if p.name not in ours)
    return f"it also holds '{foreign[0]}', which jaksim did not write" if foreign else ""
