"""One run at a time per results folder (issue 17, finding 5): a second run to the same --out
fails at once with exit 2 and one line naming the holder; a lock left by a killed process of
this host is stale and taken over; the lock is gone after a run, finished or failed."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

from helpers import write_scenario
from jaksim.cli import main


def _lock(out):
    return out.parent / f".{out.name}.jaksim.lock"


def test_second_run_to_the_same_folder_fails_at_once(tmp_path, capsys):
    scenario, out = write_scenario(tmp_path), tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _lock(out).write_text(json.dumps({"host": socket.gethostname(), "pid": holder.pid, "started": "now"}))
        started = time.perf_counter()
        assert main(["run", str(scenario), "--out", str(out), "--n-patients", "100"]) == 2
        assert time.perf_counter() - started < 5
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and f"process {holder.pid}" in err and "being written" in err
        assert not out.exists() and _lock(out).is_file()          # the holder's lock is left alone
    finally:
        holder.kill()
        holder.wait()


def test_lock_of_another_host_is_refused_with_how_to_remove_it(tmp_path, capsys):
    scenario, out = write_scenario(tmp_path), tmp_path / "out"
    _lock(out).write_text(json.dumps({"host": "elsewhere.example", "pid": 1, "started": "earlier"}))
    assert main(["run", str(scenario), "--out", str(out), "--n-patients", "100"]) == 2
    err = capsys.readouterr().err
    assert "host 'elsewhere.example'" in err and "remove" in err and str(_lock(out)) in err.replace("\n", "")


def test_stale_lock_of_a_dead_process_is_taken_over_and_released(tmp_path, capsys):
    scenario, out = write_scenario(tmp_path), tmp_path / "out"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _lock(out).write_text(json.dumps({"host": socket.gethostname(), "pid": dead.pid, "started": "earlier"}))
    assert main(["run", str(scenario), "--out", str(out), "--n-patients", "100"]) == 0
    assert (out / "jaksim.json").is_file() and not _lock(out).exists()


def test_a_failed_run_releases_its_lock(tmp_path, capsys, monkeypatch):
    from jaksim.errors import OutputError
    from jaksim.run import engine
    scenario, out = write_scenario(tmp_path), tmp_path / "out"
    seen = []

    def fail(*args, **kwargs):
        seen.append(_lock(out).is_file())                       # held while the run works
        raise OutputError("disk full (simulated)")

    monkeypatch.setattr(engine, "run_chunks", fail)
    assert main(["run", str(scenario), "--out", str(out), "--n-patients", "100"]) == 2
    assert seen == [True] and not _lock(out).exists() and not out.exists()
