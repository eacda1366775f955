"""Parquet output: a hive-partitioned dataset written atomically, chunk by chunk.

Layout of a run folder::

    <out>/jaksim.json                              manifest (no timestamps)
    <out>/{events,patients}/arm=<arm>/part-<k>.parquet   k = 00000, 00001, ...: one per checkpoint segment
    <out>/{summary,contrasts,economics}/arm=<arm>/part-00000.parquet

Rows are regrouped into fixed-size row groups, so files are byte-identical whatever the
chunk size. Each file is written under a temporary name, fsynced and renamed when complete.
The run is built in a hidden work folder and put in place in one step when complete
(``output/folder.py``): a failed or killed run never leaves a half-written ``<out>``, and its
completed segments and checkpoint stay in the work folder, which ``--resume`` continues.
"""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from jaksim.output.atomic import fsync_dir, fsync_file
from jaksim.output.folder import (  # noqa: F401  (the results folder, re-exported for callers)
    CHECKPOINT,
    OutputFolder,
    check_output_folder,
    find_partial,
    unwritable,
)
from jaksim.output.manifest import MANIFEST  # noqa: F401

ROW_GROUP_ROWS = 1 << 17
TABLES = ("events", "patients", "summary", "contrasts")
#: the hive partition key of every table of a run folder; never also a column inside the files
PARTITION_KEY = "arm"


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
        fsync_file(self.tmp)                 # the data is on disk before the name says it is complete
        os.replace(self.tmp, self.final)
        fsync_dir(self.final.parent)

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


def read_partition(folder: Path, table: str, arm: str) -> pa.Table:
    """One arm's file of a small table (``<folder>/<table>/arm=<arm>/part-00000.parquet``) with
    the partition key added back as its first column, a plain string."""
    t = pq.read_table(Path(folder) / table / f"{PARTITION_KEY}={arm}" / "part-00000.parquet", partitioning=None)
    if PARTITION_KEY in t.column_names:
        return t
    return t.add_column(0, PARTITION_KEY, pa.array([arm] * t.num_rows, pa.string()))


def with_metadata(schema: pa.Schema, metadata: dict[str, str]) -> pa.Schema:
    """Schema carrying jaksim's key-value metadata (scenario, parameters, seed, versions)."""
    return schema.with_metadata({k.encode(): v.encode() for k, v in metadata.items()})
