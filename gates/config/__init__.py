"""The policy file (``.github/mlgate.yml``): load, validate, and hold it as typed data.

Validation is strict because a typo must never silently disable a gate: unknown keys are
errors, and every error names the file, the key path and what was expected.

- ``spec``: the typed policy (``Policy``, ``GateSpec``, ``DataSpec`` …) and its constants.
- ``parse``: ``load_policy`` and ``parse_policy``, one reader per section.
- ``gate_list``: the ``gates:`` list; refuses rules that read backwards and cost gates without a model.
- ``canary``: the ``canary:`` section (log sources, canary gates, guardrails, expiry).
- ``strict_yaml``: the YAML loader that refuses aliases, merge keys and duplicate keys.

Config for the coming drift watch is parsed beside them into new frozen specs in ``spec``.
"""

from .parse import load_policy, parse_policy
from .spec import (
    MAX_CONFIG_BYTES,
    RELATIVE_RULES,
    RULES,
    VARIABLE,
    VARIABLE_PREFIX,
    CanaryColumns,
    CanaryGate,
    CanarySpec,
    DataSpec,
    LogSource,
    GateSpec,
    ModelSpec,
    Policy,
    RegistrySpec,
    TrainSpec,
)

__all__ = ["MAX_CONFIG_BYTES", "RELATIVE_RULES", "RULES", "VARIABLE", "VARIABLE_PREFIX", "CanaryColumns", "CanaryGate",
           "CanarySpec", "DataSpec", "GateSpec", "LogSource",
           "ModelSpec", "Policy", "RegistrySpec", "TrainSpec", "load_policy", "parse_policy"]
