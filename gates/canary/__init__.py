"""The canary and shadow judge: after a canary promotion, decide on live traffic.

- ``log``: the prediction log and the late label source (files or SQL), read into one frame in
  time order, every bad row named by its source and line.
- ``judge``: per-request differences (shadow) or two arms (split), one anytime-valid
  confidence sequence per gate, guardrails, and the verdict.
- ``report``: ``canary.json`` and ``canary.md`` with each interval's narrowing over time.
- ``lifecycle``: what the verdict does to the registry's aliases.
"""
