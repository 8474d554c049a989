"""Writes statistics.json and constraints.json beside this script: the files a SageMaker Model
Monitor baselining job writes, for a synthetic data set of 5,000 rows.

The columns are drawn with the generators of tests/vectors/README.md (SplitMix64 in counter
form), so the Rust tests draw windows from the same distributions with steward_drift::synth:

  age      Integral    int_uniform  {seed 11, k 62, lo 18}; missing where row % 40 == 7
  income   Fractional  irwin_hall4  {seed 12, loc 52000, scale 9000}
  country  String      seed 13, u = next_f64 per row: US < 0.45 <= DE < 0.75 <= FR < 0.90 <= JP;
                       missing where row % 100 == 3
  score    Fractional  uniform      {seed 14, lo 0, hi 1} (the model's output)
  note     Unknown     free text, no statistics

Numeric features carry Deequ's KLL sketch (k = 2048, c = 0.64, its compactors as `data`, level h
standing for 2^h values) and its ten equal-width buckets, as Deequ's QuantileNonSample and
KLLSketch analyzer compute them; string features Deequ's histogram, where missing values count
as "NullValue". The files are written the way SageMaker's container writes them (Jackson's
pretty printer: `"key" : value`, arrays on one line, some counts as floats).

Deterministic: running it again gives the same files. Python 3.8 or later, no packages.
"""

import json
import math
import os

N = 5000
MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def splitmix(seed, k):
    z = (seed + (k + 1) * GOLDEN) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def unit(out):
    return (out >> 11) * (1.0 / 9007199254740992.0)


def int_uniform(seed, n, k, lo):
    return [lo + float(((splitmix(seed, i) >> 11) * k) >> 53) for i in range(n)]


def irwin_hall4(seed, n, loc, scale):
    out = []
    for i in range(n):
        u = [unit(splitmix(seed, 4 * i + j)) for j in range(4)]
        s = ((u[0] + u[1]) + u[2]) + u[3]
        out.append(loc + scale * (s - 2.0))
    return out


def uniform(seed, n, lo, hi):
    w = hi - lo
    return [lo + w * unit(splitmix(seed, i)) for i in range(n)]


def countries(seed, n):
    out = []
    for i in range(n):
        u = unit(splitmix(seed, i))
        out.append("US" if u < 0.45 else "DE" if u < 0.75 else "FR" if u < 0.90 else "JP")
    return out


class DeequKll:
    """Deequ's QuantileNonSample with its NonSampleCompactor (deterministic offsets)."""

    def __init__(self, k=2048, c=0.64):
        self.k, self.c = k, c
        self.levels, self.offsets, self.compressions = [], [], []
        self.actual = 0
        self.expand()

    def capacity(self, h):
        return 2 * (math.ceil(self.k * self.c ** h / 2) + 1)

    def expand(self):
        self.levels.append([])
        self.offsets.append(0)
        self.compressions.append(0)
        self.total = sum(self.capacity(h) for h in range(len(self.levels)))

    def update(self, x):
        self.levels[0].append(x)
        self.actual += 1
        if self.actual > self.total:
            self.condense()

    def condense(self):
        for h in range(len(self.levels)):
            if len(self.levels[h]) >= self.capacity(h):
                if h + 1 >= len(self.levels):
                    self.expand()
                self.levels[h + 1].extend(self.compact(h))
                self.actual = sum(len(level) for level in self.levels)
                break

    def compact(self, h):
        buf = self.levels[h]
        n = len(buf)
        even = n - n % 2
        if self.compressions[h] % 2 == 1:
            self.offsets[h] = 1 - self.offsets[h]
        out = sorted(buf[:even])[self.offsets[h]:even:2]
        self.levels[h] = [buf[n - 1]] if n % 2 else []
        self.compressions[h] += 1
        return out

    def weighted(self):
        return [(v, 1 << h) for h, level in enumerate(self.levels) for v in level]

    def rank(self, x):
        return sum(w for v, w in self.weighted() if v <= x)

    def rank_exclusive(self, x):
        return sum(w for v, w in self.weighted() if v < x)


def numeric(name, kind, values):
    present = [v for v in values if v is not None]
    kll = DeequKll()
    for v in present:
        kll.update(v)
    lo, hi = min(present), max(present)
    buckets = []
    for i in range(10):
        low = lo + (hi - lo) * i / 10.0
        high = lo + (hi - lo) * (i + 1) / 10.0
        upper = kll.rank(high) if i == 9 else kll.rank_exclusive(high)
        count = upper - kll.rank_exclusive(low)
        buckets.append({"lower_bound": low, "upper_bound": high, "count": float(count)})
    total = math.fsum(present)
    mean = total / len(present)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in present) / len(present))
    return {
        "name": name,
        "inferred_type": kind,
        "numerical_statistics": {
            "common": {"num_present": len(present), "num_missing": len(values) - len(present)},
            "mean": mean,
            "sum": total,
            "std_dev": std,
            "min": lo,
            "max": hi,
            "distribution": {
                "kll": {
                    "buckets": buckets,
                    "sketch": {
                        "parameters": {"c": kll.c, "k": float(kll.k)},
                        "data": kll.levels,
                    },
                }
            },
        },
    }


def string(name, values):
    present = [v for v in values if v is not None]
    counts = {}
    for v in values:
        key = "NullValue" if v is None else v
        counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "name": name,
        "inferred_type": "String",
        "string_statistics": {
            "common": {"num_present": len(present), "num_missing": len(values) - len(present)},
            "distinct_count": float(len(set(present))),
            "distribution": {
                "categorical": {"buckets": [{"value": k, "count": c} for k, c in ranked]}
            },
        },
    }


def pretty(value, indent=0):
    """Jackson's DefaultPrettyPrinter."""
    pad = "  " * (indent + 1)
    if isinstance(value, dict):
        items = [f'{pad}{json.dumps(k)} : {pretty(v, indent + 1)}' for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(value, list):
        if not value:
            return "[ ]"
        return "[ " + ", ".join(pretty(v, indent) for v in value) + " ]"
    return json.dumps(value)


def main():
    age = int_uniform(11, N, 62, 18.0)
    age = [None if i % 40 == 7 else v for i, v in enumerate(age)]
    income = irwin_hall4(12, N, 52000.0, 9000.0)
    country = countries(13, N)
    country = [None if i % 100 == 3 else v for i, v in enumerate(country)]
    score = uniform(14, N, 0.0, 1.0)

    features = [
        numeric("age", "Integral", age),
        numeric("income", "Fractional", income),
        string("country", country),
        numeric("score", "Fractional", score),
        {"name": "note", "inferred_type": "Unknown"},
    ]
    statistics = {"version": 0.0, "dataset": {"item_count": N}, "features": features}

    def completeness(values):
        return sum(v is not None for v in values) / len(values)

    constraints = {
        "version": 0.0,
        "features": [
            {
                "name": "age",
                "inferred_type": "Integral",
                "completeness": completeness(age),
                "num_constraints": {"is_non_negative": True},
            },
            {
                "name": "income",
                "inferred_type": "Fractional",
                "completeness": 1.0,
                "num_constraints": {"is_non_negative": True},
            },
            {
                "name": "country",
                "inferred_type": "String",
                "completeness": completeness(country),
                "string_constraints": {"domains": ["DE", "FR", "JP", "US"]},
            },
            {
                "name": "score",
                "inferred_type": "Fractional",
                "completeness": 1.0,
                "num_constraints": {"is_non_negative": True},
            },
            {"name": "note", "inferred_type": "Unknown", "completeness": 1.0},
        ],
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": 1.0,
            "domain_content_threshold": 1.0,
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": 0.1,
                "comparison_method": "Robust",
                "categorical_comparison_threshold": 0.1,
                "categorical_drift_method": "LInfinity",
            },
        },
    }
    here = os.path.dirname(os.path.abspath(__file__))
    for name, value in [("statistics.json", statistics), ("constraints.json", constraints)]:
        with open(os.path.join(here, name), "w") as f:
            f.write(pretty(value) + "\n")


if __name__ == "__main__":
    main()
