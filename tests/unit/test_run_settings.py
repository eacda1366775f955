"""Run defaults (``jaksim.run.settings``): one definition used by the command line, the engine
and the API, and a write queue whose memory bound does not grow with the chunk size."""

from __future__ import annotations

import inspect

from jaksim.run import engine, settings


def test_command_line_engine_and_api_share_the_defaults():
    from jaksim import api, cli

    params = inspect.signature(cli.run).parameters
    assert params["chunk_size"].default.default == settings.DEFAULT_CHUNK_SIZE
    assert params["checkpoint_every"].default.default == settings.CHECKPOINT_PATIENTS
    assert inspect.signature(engine.run_to_folder).parameters["chunk_size"].default == settings.DEFAULT_CHUNK_SIZE
    assert engine.DEFAULT_CHUNK_SIZE == settings.DEFAULT_CHUNK_SIZE
    assert "engine.DEFAULT_CHUNK_SIZE" in inspect.getsource(api.run)


def test_write_queue_holds_about_the_same_rows_whatever_the_chunk_size():
    for chunk in (1 << 14, 1 << 16, 1 << 17, 1 << 18):
        batches = settings.pending_batches(chunk)
        # one batch of events and one of patients per chunk (one arm): patient rows waiting
        assert batches // 2 * chunk == settings.PENDING_ROWS
    assert settings.pending_batches(1 << 16) == 16            # as before the default changed
    assert settings.pending_batches(1) == 256                 # tiny chunks: a bounded queue
    assert settings.pending_batches(1 << 24) == 4             # huge chunks: still some overlap
