"""mlgate's core: decide whether a candidate model may replace production.

Pure library: no GitHub, no environment variables, nothing that cannot run on a laptop or a
Dask worker; ``mlgate.action`` is the edge that turns events and command lines into calls of
this. The front door (names load on first use, so importing a light module such as
``gates.errors`` does not pull in pandas):

- ``evaluate(policy, workspace, overrides)`` → ``Result``; ``load_policy(path)`` → ``Policy``;
- ``promote(...)``, ``write_outputs(result, out)``; ``stats`` (the public statistics API).

The heart sits here at the top: ``evidence`` (mergeable sufficient statistics), ``rules``
(one rule → one verdict), ``decision`` and ``result``. The wings: ``holdout/``, ``models/``,
``engine/``, ``registry/``, ``report/`` and ``stats/`` (see the README's Layout).
"""

from importlib import import_module

from .. import __version__

_PUBLIC = {
    "evaluate": ".engine", "Overrides": ".engine", "Result": ".result", "load_policy": ".config",
    "Policy": ".config", "promote": ".promotion", "write_outputs": ".outputs", "stats": ".stats",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = import_module(_PUBLIC[name], __name__)
    value = module if name == "stats" else getattr(module, name)
    globals()[name] = value
    return value
