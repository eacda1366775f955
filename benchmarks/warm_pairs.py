"""M0 in warm processes, one pass each in turn: jaksim, jaksim with frailty, the NumPy peer.

    python benchmarks/warm_pairs.py --n 1e6 --rounds 31

Each configuration lives in its own process (its own ``--threads``, memory and imports), set up
once: model built, numba cache loaded, one untimed pass. The coordinator then asks each process
in turn for one pass of the simulation (``jaksim_impl.simulate_only`` / ``peers.simulate_numpy``:
the same code and timing as ``run.py``), the order reversed every other round. A pass takes
0.05-0.2 s, so the passes of one round are measured within about half a second of each other and
a slow spell of this shared machine falls on all of them alike; in fresh processes (``suite.py``,
``frailty_speed.py``) each configuration is seconds apart and whole processes run in a fast or a
slow spell, which spreads the ratio between them. Reported: the median over rounds of the ratio
within each round, with its distribution-free confidence interval (``suite.median_interval``).
Used by ``frailty_speed.py``; prints a table when run by itself. Wall time (jaksim runs on two
threads, the peer on one).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: pause before each pass: the OpenMP threads of the jaksim process that ran before spin for a few
#: milliseconds after its last parallel region (libgomp's wait policy) and would share a core
#: with the next pass
GAP_SECONDS = 0.05


def worker(impl: str, n: int, threads: int, frailty: float) -> None:
    """Serve passes: one JSON line {"seconds", "patient_years", "events"} per line read on stdin."""
    if impl == "numpy":
        import peers

        def one_pass():
            return peers.simulate_numpy(n, 1)
    else:
        import jaksim_impl
        import m0
        model = jaksim_impl.load(m0.variant(n, 1, frailty=frailty or None), threads)[0]
        jaksim_impl.first_call(model)

        def one_pass():
            tally, seconds, _ = jaksim_impl.simulate_only(model, n)
            return tally, seconds
    one_pass()        # untimed: first use of the memory, caches, the OS's pages
    print(json.dumps({"ready": True}), flush=True)
    for _ in sys.stdin:
        tally, seconds = one_pass()
        print(json.dumps({"seconds": seconds, "patient_years": tally.patient_years,
                          "events": int(sum(tally.to_json()["events"].values()))}), flush=True)


def configurations(variance: float) -> list[tuple[str, list[str]]]:
    """(label, worker arguments) of the three configurations compared."""
    return [("jaksim M0", ["--impl", "jaksim", "--threads", "2"]),
            (f"jaksim M0 frailty {variance:g}", ["--impl", "jaksim", "--threads", "2", "--frailty", str(variance)]),
            ("numpy M0", ["--impl", "numpy", "--threads", "1"])]


def passes(n: int, rounds: int, variance: float, gap: float = GAP_SECONDS) -> dict[str, list[dict]]:
    """Each configuration's passes, ``rounds`` of them, interleaved (see the module docstring)."""
    procs = {}
    for label, extra in configurations(variance):      # the script's folder is the workers' sys.path[0]
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--n", str(n), *extra]
        procs[label] = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    for p in procs.values():
        line = p.stdout.readline()
        if not line:
            raise RuntimeError(f"a worker failed to start: {p.args}")
    out: dict[str, list[dict]] = {label: [] for label in procs}
    labels = list(procs)
    try:
        for r in range(rounds):
            for label in (labels if r % 2 == 0 else labels[::-1]):
                time.sleep(gap)
                procs[label].stdin.write("pass\n")
                procs[label].stdin.flush()
                out[label].append(json.loads(procs[label].stdout.readline()))
            shown = ", ".join(f"{label}: {out[label][-1]['seconds']:.4g} s" for label in labels)
            print(f"  [{r + 1}/{rounds}] {shown}", flush=True)
    finally:
        for p in procs.values():
            p.stdin.close()
            p.wait()
    return out


def summary(out: dict[str, list[dict]]) -> dict:
    """Per-round ratios and their medians with confidence intervals, from each configuration's
    measurements in round order ({"seconds", "patient_years"} each; M0, M0 with frailty, NumPy:
    the passes here or the fresh processes of ``frailty_speed.py``)."""
    import suite
    plain, frail, peer = out.values()
    vs_numpy = [(a["patient_years"] / a["seconds"]) / (c["patient_years"] / c["seconds"])
                for a, c in zip(plain, peer, strict=True)]
    slowdown = [b["seconds"] / a["seconds"] - 1.0 for a, b in zip(plain, frail, strict=True)]
    res = {"rounds": len(plain), "seconds": {label: [p["seconds"] for p in ps] for label, ps in out.items()},
           "m0_vs_numpy_rounds": vs_numpy, "frailty_slowdown_rounds": slowdown}
    for key, values in (("m0_vs_numpy", vs_numpy), ("frailty_slowdown", slowdown)):
        lo, hi, cover = suite.median_interval(values)
        res[key] = {"median": statistics.median(values), "low": lo, "high": hi, "coverage": cover}
    res["m0_at_least_3x_numpy_beyond_noise"] = res["m0_vs_numpy"]["low"] >= 3.0
    res["frailty_within_15_percent_beyond_noise"] = res["frailty_slowdown"]["high"] <= 0.15
    return res


def describe(res: dict, what: str = "warm interleaved passes") -> str:
    v, s = res["m0_vs_numpy"], res["frailty_slowdown"]
    return (f"{what} (median of {res['rounds']} rounds): M0 vs NumPy {v['median']:.2f}x "
            f"({v['coverage']:.0%} CI {v['low']:.2f}-{v['high']:.2f}x), frailty vs M0 {100 * s['median']:+.1f}% "
            f"({s['coverage']:.0%} CI {100 * s['low']:+.1f} to {100 * s['high']:+.1f}%)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=float, default=1e6)
    ap.add_argument("--rounds", type=int, default=31)
    ap.add_argument("--variance", type=float, default=1.0)
    ap.add_argument("--gap", type=float, default=GAP_SECONDS, help="seconds between passes (default 0.05)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--impl", default="jaksim", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=2, help=argparse.SUPPRESS)
    ap.add_argument("--frailty", type=float, default=0.0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    n = int(args.n)
    if args.worker:
        worker(args.impl, n, args.threads, args.frailty)
        return 0
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    res = summary(passes(n, args.rounds, args.variance, args.gap))
    print(f"\nN = {n:,}, {started} – {time.strftime('%H:%M:%S')}")
    for label, secs in res["seconds"].items():
        print(f"  {label}: median {statistics.median(secs):.4g} s, min {min(secs):.4g} s")
    print(describe(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
