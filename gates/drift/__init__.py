"""The drift watch: a recent window of production inputs against the reference, judged the way
models are judged — an interval on an effect size against a threshold that matters.

- ``sketches``: per-column histograms that stream (numbers on reference-quantile bins,
  categories by value) and merge across chunks.
- ``distances``: normalised Wasserstein, Jensen–Shannon and PSI from two sketches, each with a
  bootstrap interval and a p-value against its threshold (Holm across features).
- ``window``: reading the reference and the current window in chunks (files or SQL).
- ``watch``: the story: features, prediction drift, performance with labels, the verdict.
- ``report``: ``drift.json``, ``drift.md``, ``drift.html``.
"""
