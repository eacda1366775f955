"""Speed of M0 with a gamma frailty on every infection type, against M0 and the NumPy peer (issue 13).

    python benchmarks/frailty_speed.py                 # N = 1e6, 5 interleaved repeats (about 2 minutes)
    python benchmarks/frailty_speed.py --n 1e5 --repeats 1

Three configurations in the same run, each repeat in a fresh process (``suite.run_impl``), the
repeats interleaved and each disturbed measurement retried as in ``suite.py``: jaksim on M0,
jaksim on M0 with frailty variance ``--variance`` (default 1.0) on its three types, and the NumPy
peer. Targets: M0 with frailty within 15% of M0 without (simulation time), and M0 as today at
least 3x the NumPy peer (patient-years per second), from the medians of the repeats and, less
disturbed by slow spells of a shared machine, as the median of the ratios within each round,
with a distribution-free confidence interval of that median (``suite.median_interval``): a
target holds beyond the machine's noise when the whole interval is on its side.
Then the same three in warm processes, one pass each in turn (``warm_pairs.py``: the passes of
a round within half a second of each other), and, as a check that other processes disturb less,
the kernel's CPU time (``time.process_time``, one thread, the chunks' cohorts made beforehand)
without and with frailty in one process, interleaved ``--cpu-repeats`` times.
Writes ``results/frailty.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import suite  # noqa: E402
import warm_pairs  # noqa: E402


def cpu_times(n: int, variance: float, repeats: int) -> dict[str, list[float]]:
    """Kernel CPU seconds for n M0 patients (one thread), without and with frailty, interleaved."""
    import jaksim_impl
    import m0
    from jaksim.run import chunks as chunk_loop
    models = {}
    for label, theta in (("without", 0.0), ("with", variance)):
        models[label] = jaksim_impl.load(m0.variant(n, 1, frailty=theta), 1)[0]
        jaksim_impl.first_call(models[label])
    size = jaksim_impl.chunk_size(models["without"])
    cohorts = [models["without"].cohort.block(s, min(n, s + size)) for s in range(0, n, size)]
    out: dict[str, list[float]] = {label: [] for label in models}
    for _ in range(repeats):
        for label, model in models.items():
            arm = model.arms[0]
            cap = chunk_loop.initial_cap(arm, float(model.scenario.horizon_years))
            prepared = chunk_loop.kernel_arm_inputs(model, arm)     # once per run, as run_chunks does
            t0 = time.process_time()
            for cohort in cohorts:
                cap = chunk_loop.simulate_chunk(model, arm, cohort, cap, prepared=prepared)[1]
            out[label].append(time.process_time() - t0)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=float, default=1e6, help="patients (default 1e6)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--variance", type=float, default=1.0, help="frailty variance of every type (default 1)")
    ap.add_argument("--cpu-repeats", type=int, default=21, help="repeats of the CPU-time check (0: none)")
    ap.add_argument("--warm-rounds", type=int, default=31,
                    help="rounds of warm interleaved passes (warm_pairs.py; 0: none)")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    args = ap.parse_args(argv)
    n = int(args.n)
    configs = [("jaksim M0", lambda: suite.run_impl("jaksim", n)),
               (f"jaksim M0 frailty {args.variance:g}", lambda: suite.run_impl("jaksim", n, frailty=args.variance)),
               ("numpy M0", lambda: suite.run_impl("numpy", n))]
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    runs = suite.repeat(configs, args.repeats)
    rows = {label: suite.summarise(rs) for label, rs in runs.items()}
    plain, frail, peer = (rows[label] for label, _ in configs)
    slowdown = frail["seconds"] / plain["seconds"] - 1.0
    vs_numpy = plain["patient_years_per_second"] / peer["patient_years_per_second"]
    # paired: the ratio within each round (the three processes of a round run one after another, so a
    # slow spell of this shared machine falls on all three alike), then the median over rounds
    paired = warm_pairs.summary(runs)
    res = {"started": started, "finished": time.strftime("%Y-%m-%d %H:%M:%S"), "n": n, "repeats": args.repeats,
           "variance": args.variance, "rows": rows, "machine": suite.machine(),
           "targets": [{"target": "M0 with frailty within 15% of M0 without (simulation seconds)",
                        "value": f"{100 * slowdown:+.1f}%", "holds": slowdown <= 0.15},
                       {"target": "M0 >= 3x the NumPy peer (patient-years/s)", "value": f"{vs_numpy:.2f}x",
                        "holds": vs_numpy >= 3.0}],
           "paired": paired}
    if args.warm_rounds:
        res["warm"] = warm_pairs.summary(warm_pairs.passes(n, args.warm_rounds, args.variance))
    if args.cpu_repeats:
        cpu = cpu_times(n, args.variance, args.cpu_repeats)
        q = {k: sorted(v) for k, v in cpu.items()}
        res["cpu_seconds"] = cpu
        res["cpu_ratio_min"] = q["with"][0] / q["without"][0]
        res["cpu_ratio_median"] = q["with"][len(q["with"]) // 2] / q["without"][len(q["without"]) // 2]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "frailty.json").write_text(json.dumps(res, indent=1, default=float) + "\n")
    print(f"\nN = {n:,}, median of {args.repeats}, {started} – {res['finished']}")
    print("| configuration | sim s (each repeat) | patient-years/s | events | other load |\n|---|---:|---:|---:|---:|")
    for label, r in rows.items():
        each = ", ".join(f"{s:.4g}" for s in r["seconds_all"])
        print(f"| {label} | {r['seconds']:.4g} ({each}) | {suite.fmt(r['patient_years_per_second'])} | "
              f"{sum(r['events'].values()) if isinstance(r['events'], dict) else r['events']} | "
              f"{r['foreign_load']:.0%} |")
    for t in res["targets"]:
        print(f"{t['target']}: {t['value']} — {'holds' if t['holds'] else 'MISSED'}")
    print(warm_pairs.describe(paired, "fresh processes, paired within rounds"))
    if args.warm_rounds:
        print(warm_pairs.describe(res["warm"]))
    if args.cpu_repeats:
        print(f"kernel CPU time with / without frailty, one thread, {args.cpu_repeats} interleaved repeats: "
              f"min {res['cpu_ratio_min']:.3f}, median {res['cpu_ratio_median']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
