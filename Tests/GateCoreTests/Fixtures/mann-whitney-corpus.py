#!/usr/bin/env python3
"""Reference cases for the Mann-Whitney judge, computed with SciPy.

Every case holds two samples (`recent`, `baseline`), a confidence, and what SciPy says about them:

- `u`: scipy.stats.mannwhitneyu(recent, baseline).statistic (U of `recent`, average ranks for ties);
- `p`: the two-sided p-value. Up to 20 samples per side, exact: without ties `method="exact"`; with ties
  the exact permutation distribution (`method=PermutationMethod(n_resamples=inf)`, every split enumerated),
  which is what the judge computes. Above 20 per side `method="asymptotic"` (tie and continuity corrected);
- `shift`: the Hodges-Lehmann estimate, numpy's median of every difference recent[i] - baseline[j];
- `lower`, `upper`: the distribution-free interval [D(k), D(n1*n2 + 1 - k)] over the sorted differences, with k
  the largest rank such that P(U <= k - 1) <= (1 - confidence) / 2. That probability comes from SciPy's own
  null distribution of U (`mannwhitneyu(..., alternative="less")` on two untied samples built to have U = k - 1),
  exact or asymptotic by the same size rule. `k = 0` (samples too small for the confidence) is written as null.

Usage: mann-whitney-corpus.py [--seed N] [--cases N] > corpus.json
"""
import argparse
import json
import math

import numpy as np
from scipy import stats

EXACT_LIMIT = 20


def exact(n1, n2):
    return n1 <= EXACT_LIMIT and n2 <= EXACT_LIMIT


def p_u_at_most(c, n1, n2, method):
    """P(U <= c) under the untied null, from SciPy: samples with U1 = c, one-sided 'less' p-value."""
    ys = np.arange(n2, dtype=float)
    below = []
    remaining = c
    for _ in range(n1):
        m = min(n2, remaining)
        below.append(m)
        remaining -= m
    # x_i sits above exactly m_i of the ys; tiny distinct offsets keep the xs themselves untied.
    xs = np.array([m - 0.5 + i * 1e-6 for i, m in enumerate(below)])
    return stats.mannwhitneyu(xs, ys, alternative="less", method=method).pvalue


def interval_rank(n1, n2, confidence):
    tail = (1 - confidence) / 2
    method = "exact" if exact(n1, n2) else "asymptotic"
    low, high = 0, (n1 * n2 + 1) // 2 + 1
    while high - low > 1:
        middle = (low + high) // 2
        if p_u_at_most(middle - 1, n1, n2, method) <= tail:
            low = middle
        else:
            high = middle
    return min(low, (n1 * n2 + 1) // 2)


def reference(recent, baseline, confidence):
    x = np.asarray(recent, dtype=float)
    y = np.asarray(baseline, dtype=float)
    n1, n2 = len(x), len(y)
    ties = len(np.unique(np.concatenate([x, y]))) < n1 + n2
    if exact(n1, n2):
        method = stats.PermutationMethod(n_resamples=np.inf) if ties else "exact"
    else:
        method = "asymptotic"
    result = stats.mannwhitneyu(x, y, alternative="two-sided", method=method)
    differences = np.sort(np.subtract.outer(x, y).ravel())
    k = interval_rank(n1, n2, confidence)
    case = {
        "recent": list(map(float, x)),
        "baseline": list(map(float, y)),
        "confidence": confidence,
        "u": float(result.statistic),
        "p": float(result.pvalue),
        "method": "exact" if exact(n1, n2) else "asymptotic",
        "shift": float(np.median(differences)),
        "k": int(k),
        "lower": float(differences[k - 1]) if k >= 1 else None,
        "upper": float(differences[n1 * n2 - k]) if k >= 1 else None,
    }
    return case


def draw(rng, n, shape):
    """Latency-like and counter-like shapes; rounding makes ties where real metrics have them."""
    if shape == "lognormal":
        return rng.lognormal(mean=-3.0, sigma=0.4, size=n)
    if shape == "normal":
        return rng.normal(loc=100.0, scale=15.0, size=n)
    if shape == "rounded":
        return np.round(rng.normal(loc=20.0, scale=3.0, size=n))
    if shape == "coarse":
        return rng.integers(0, 4, size=n).astype(float)
    return rng.uniform(0.0, 1.0, size=n)


def cases(seed, count):
    rng = np.random.default_rng(seed)
    out = []
    confidences = [0.8, 0.9, 0.95, 0.98, 0.99]
    for index in range(count):
        band = index % 4
        if band == 0:  # exact, no ties
            n1, n2 = int(rng.integers(3, 21)), int(rng.integers(3, 21))
            shape = ["lognormal", "normal", "uniform"][index % 3]
        elif band == 1:  # exact with ties: small enough to enumerate every split in SciPy
            n1, n2 = int(rng.integers(3, 9)), int(rng.integers(3, 9))
            shape = ["rounded", "coarse"][index % 2]
        elif band == 2:  # asymptotic, a mix of sizes
            n1, n2 = int(rng.integers(21, 200)), int(rng.integers(5, 200))
            shape = ["lognormal", "normal", "rounded", "coarse", "uniform"][index % 5]
        else:  # asymptotic, the evaluation's usual sizes
            n1, n2 = int(rng.integers(21, 120)), int(rng.integers(100, 600))
            shape = ["lognormal", "normal", "rounded"][index % 3]
        baseline = draw(rng, n2, shape)
        recent = draw(rng, n1, shape)
        # Shift some cases, so significant and insignificant differences are both covered.
        factor = [1.0, 1.0, 1.1, 1.3, 0.8][index % 5]
        recent = recent * factor if shape not in ("rounded", "coarse") else np.round(recent * factor)
        # Six significant digits: what the samples are is then exactly what the JSON says.
        recent = [float(f"{v:.6g}") for v in recent]
        baseline = [float(f"{v:.6g}") for v in baseline]
        if len(set(recent) | set(baseline)) == 1:
            continue  # all ties: no test at all (the judge answers inconclusive; covered by table tests)
        out.append(reference(recent, baseline, confidences[index % len(confidences)]))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--cases", type=int, default=240)
    arguments = parser.parse_args()
    corpus = {
        "generator": "mann-whitney-corpus.py --seed %d --cases %d" % (arguments.seed, arguments.cases),
        "scipy": stats.__name__ and __import__("scipy").__version__,
        "numpy": np.__version__,
        "cases": cases(arguments.seed, arguments.cases),
    }
    json.dump(corpus, __import__("sys").stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()
