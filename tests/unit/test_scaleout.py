"""Scale-out on Dask (``jaksim.scaleout``): the same results as one process, clear errors."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from jaksim.cli import main
from jaksim.errors import JaksimError
from jaksim.run import psa
from jaksim.run.checkpoint import DrawStore
from jaksim.run.scaleout import check_scheduler, connect
from jaksim.scenario import load as config

distributed = pytest.importorskip("distributed")

STUDY = Path(__file__).resolve().parents[2] / "scenarios" / "ra_tofacitinib_zoster_vaccination.yaml"


@pytest.mark.slow
def test_psa_on_a_local_cluster_equals_the_serial_psa():
    """Draws as tasks on two worker processes (finishing in any order) give the serial PSA's
    tables exactly: every draw is a pure function of (scenario, draw, patient ids)."""
    sc = config.load_scenario(STUDY).with_overrides(n_patients=3000)
    draws = [3, 0, 2, 1]
    serial = psa.run_psa(sc, draws)
    done = []
    on_cluster = psa.run_psa(sc, draws, scheduler="local:2", progress=done.append)
    assert sum(done) == len(draws)
    for name in ("outcomes", "parameters", "cycles", "summary"):
        a, b = getattr(serial, name), getattr(on_cluster, name)
        assert a.num_rows > 0 and a.equals(b), name
    assert on_cluster.outcomes.column("draw").to_pylist()[:6] == [0] * 6   # sorted by draw


@pytest.mark.slow
def test_resumed_psa_on_a_local_cluster_equals_the_serial_psa(tmp_path):
    """Draws 0 and 2 finished (serially) before an interruption; the resumed PSA sends only
    draws 1 and 3 to the workers, saves them as they finish, and gives the serial tables."""
    sc = config.load_scenario(STUDY).with_overrides(n_patients=2000)
    serial = psa.run_psa(sc, [0, 1, 2, 3])
    psa.run_psa(sc, [0, 2], store=DrawStore(tmp_path, sc))
    done = []
    resumed = psa.run_psa(sc, [3, 1, 0, 2], scheduler="local:2", progress=done.append,
                          store=DrawStore(tmp_path, sc))
    assert done[0] == 2 and sum(done) == 4
    assert sorted(p.name for p in tmp_path.glob("draw-*.json")) == [f"draw-{d}.json" for d in range(4)]
    for name in ("outcomes", "parameters", "cycles", "summary"):
        assert getattr(serial, name).equals(getattr(resumed, name)), name


@pytest.mark.parametrize("scheduler", ["local", "local:1", f"local:{os.cpu_count()}", "tcp://10.0.0.5:8786", "myhost:8786",
                                       "tls://[::1]:8786"])
def test_scheduler_values_accepted(scheduler):
    check_scheduler(scheduler)


@pytest.mark.parametrize("scheduler,problem", [("local:0", "at least 1"), ("local:9999", "at most"),
                                               (f"local:{(os.cpu_count() or 1) + 1}", "at most"),
                                               ("locale", "is not allowed"),
                                               ("tcp://host", "is not allowed"), ("", "is not allowed")])
def test_bad_scheduler_refused(scheduler, problem):
    with pytest.raises(JaksimError, match=problem):
        check_scheduler(scheduler)


def test_bad_scheduler_refused_by_the_cli_before_any_work(tmp_path, capsys):
    rc = main(["psa", str(STUDY), "--draws", "2", "--n-patients", "100", "--out", str(tmp_path / "o"),
               "--scheduler", "local:0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: --scheduler local:0")
    assert not (tmp_path / "o").exists()


def test_unreachable_scheduler_is_a_one_line_error():
    started = time.perf_counter()
    with pytest.raises(JaksimError, match="cannot reach the Dask scheduler"):
        with connect("tcp://127.0.0.1:9", timeout_seconds=1.0):
            pass
    assert time.perf_counter() - started < 30


def test_remote_scheduler_checks_its_workers():
    """A scheduler address: the client waits for a worker and refuses workers running another
    jaksim version (their numbers could differ)."""
    from distributed import LocalCluster

    from jaksim.run import scaleout
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                      dashboard_address=None) as cluster:
        with connect(cluster.scheduler_address) as c:
            assert c.numba_threads is None and len(c.client.scheduler_info()["workers"]) == 1
        real = scaleout._worker_version
        try:
            scaleout._worker_version = lambda: "0.0.0-other"   # in-process workers see the patch
            with pytest.raises(JaksimError, match="other jaksim versions"):
                with connect(cluster.scheduler_address):
                    pass
        finally:
            scaleout._worker_version = real


def test_scheduler_without_workers_is_a_one_line_error():
    from distributed import LocalCluster
    with LocalCluster(n_workers=0, processes=False, protocol="tcp", dashboard_address=None) as cluster:
        with pytest.raises(JaksimError, match="has no workers"):
            with connect(cluster.scheduler_address, timeout_seconds=1.0):
                pass


def test_local_cluster_is_bound_to_localhost_and_refuses_clients_without_its_certificate():
    """Issue 17, finding 7: another process on the machine cannot use the local cluster's
    workers: it listens on 127.0.0.1 only, over mutual TLS with a certificate of its own."""
    from distributed import Client
    from distributed.security import Security
    with connect("local:1") as c:
        address = c.client.scheduler.address
        assert address.startswith("tls://127.0.0.1:")
        workers = c.client.scheduler_info()["workers"]
        assert workers and all(w.startswith("tls://127.0.0.1:") for w in workers)
        assert c.client.submit(sum, [1, 2]).result() == 3                  # jaksim's own client works
        attempts = [lambda: Client(address.replace("tls://", "tcp://"), timeout="3s"),   # plain TCP
                    lambda: Client(address, timeout="3s"),                               # TLS, no certificate
                    lambda: Client(address, timeout="3s", security=Security.temporary())]  # another CA
        for attempt in attempts:
            with pytest.raises(Exception):       # noqa: B017 (each fails in its own way)
                attempt().close()


def test_local_cluster_without_cryptography_is_a_one_line_error(monkeypatch):
    from distributed.security import Security

    from jaksim.run import scaleout

    def missing():
        raise ImportError("No module named 'cryptography'")
    monkeypatch.setattr(Security, "temporary", staticmethod(missing))
    with pytest.raises(JaksimError, match="needs the 'cryptography' package"):
        scaleout.local_security()


def test_sweep_on_a_local_cluster_equals_the_local_sweep(tmp_path):
    """Variants as Dask tasks give the local sweep's tables exactly (issue 15, item 3)."""
    from pathlib import Path

    from jaksim.run.sweep import run_sweep
    vacc = Path(__file__).resolve().parents[2] / "scenarios" / "ra_tofacitinib_zoster_vaccination.yaml"
    grid = tmp_path / "grid.yaml"
    grid.write_text("grid:\n  economics.vaccine_cost_per_dose: [100, 200]\n  horizon_years: [2, 3]\n")
    done: list[int] = []
    here = run_sweep(vacc, grid, n_patients=300)
    there = run_sweep(vacc, grid, n_patients=300, scheduler="local:2", progress=lambda i, n: done.append(i))
    assert sorted(done) == [1, 2, 3, 4]
    assert set(here) == set(there) == {"summary", "contrasts", "economics"}
    for name in here:                       # NaN (e.g. no number needed to vaccinate) equals NaN
        assert here[name].schema == there[name].schema
        assert here[name].to_pandas().equals(there[name].to_pandas()), name
