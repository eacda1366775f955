"""Run defaults (``jaksim.run.settings``): one definition used by the command line, the engine
and the API; a default chunk that holds patients x arms, not patients, to a bound; a write queue
whose memory bound does not grow with the chunk size."""

from __future__ import annotations

import inspect

from jaksim.run import engine, settings


def test_command_line_engine_and_api_share_the_defaults():
    from jaksim import api, cli

    params = inspect.signature(cli.run).parameters
    assert params["chunk_size"].default.default is None           # resolved from the model's arms
    assert params["checkpoint_every"].default.default == settings.CHECKPOINT_PATIENTS
    assert inspect.signature(engine.run_to_folder).parameters["chunk_size"].default is None
    assert inspect.signature(engine.run).parameters["chunk_size"].default is None
    assert inspect.signature(api.run).parameters["chunk_size"].default is None


def test_default_chunk_holds_patient_arms_to_the_bound():
    expected = {1: 1 << 18, 2: 1 << 17, 3: 1 << 16, 4: 1 << 16, 7: 1 << 16, 0: 1 << 18}
    for arms, size in expected.items():
        assert settings.default_chunk_size(arms) == size
        assert size & (size - 1) == 0                               # a power of two
    for arms in range(1, 40):
        size = settings.default_chunk_size(arms)
        assert size >= settings.MIN_DEFAULT_CHUNK
        assert size * arms <= settings.CHUNK_PATIENT_ARMS or size == settings.MIN_DEFAULT_CHUNK
        assert size * 2 * arms > settings.CHUNK_PATIENT_ARMS or size == settings.CHUNK_PATIENT_ARMS


def test_write_queue_holds_about_the_same_rows_whatever_the_chunk_size():
    for chunk in (1 << 14, 1 << 16, 1 << 17, 1 << 18):
        batches = settings.pending_batches(chunk)
        # one batch of events and one of patients per chunk (one arm): patient rows waiting
        assert batches // 2 * chunk == settings.PENDING_ROWS
    assert settings.pending_batches(1 << 16) == 16            # as before the default changed
    assert settings.pending_batches(1) == 256                 # tiny chunks: a bounded queue
    assert settings.pending_batches(1 << 24) == 4             # huge chunks: still some overlap
