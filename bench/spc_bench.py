"""SPC benchmark (issue 22): an X̄-R chart of 10,000 subgroups of 5 with the Western Electric rules and
capability (Cp/Cpk/Pp/Ppk/Cpm/Ppm, ppm, confidence intervals, histogram, normality tests), against a
baseline measured in the same run: numpy's mean and range of the same readings (the least any chart
must do). Constants are warmed first (d2/d3 are computed once per subgroup size and cached). Prints the
best-of-rounds wall time, CPU time, the ratio and the load average; target ≤ 300 ms.

    python bench/spc_bench.py [--subgroups 10000] [--n 5] [--rounds 7]
"""
from __future__ import annotations

import argparse
import os
import random
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subgroups", type=int, default=10_000)
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    import numpy as np

    from mom.engines.reports import spc

    rnd = random.Random(22)
    groups = [[round(rnd.gauss(74.0, 0.01), 3) for _ in range(a.n)] for _ in range(a.subgroups)]
    flat = [v for g in groups for v in g]
    spc.factors(a.n)                                   # warm the constant cache

    def chart() -> None:
        res = spc.xbar_r(groups, rules="western_electric")
        res["capability"] = spc.capability(flat, lsl=73.95, usl=74.05, sigma_within=res["sigma_within"])

    def baseline() -> None:
        arr = np.asarray(groups, dtype=float)
        arr.mean(axis=1), arr.max(axis=1) - arr.min(axis=1)

    best: dict[str, tuple[float, float]] = {}
    for _ in range(a.rounds):                          # interleaved rounds, best of each
        for name, fn in (("baseline", baseline), ("chart", chart)):
            w, c = time.perf_counter(), time.process_time()
            fn()
            w, c = time.perf_counter() - w, time.process_time() - c
            if name not in best or w < best[name][0]:
                best[name] = (w, c)
    (bw, bc), (cw, cc) = best["baseline"], best["chart"]
    print(f"SPC X̄-R: {a.subgroups:,} subgroups of {a.n}, rules + capability, best of {a.rounds}")
    print(f"  baseline numpy mean/range: {bw * 1000:8.2f} ms wall  {bc * 1000:8.2f} ms CPU")
    print(f"  chart:                     {cw * 1000:8.2f} ms wall  {cc * 1000:8.2f} ms CPU  "
          f"({cw / bw:,.0f}x baseline; target 300 ms: {'met' if cw <= 0.3 else 'NOT met'})")
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
