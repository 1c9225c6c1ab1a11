"""mlgate's core: decide whether a candidate model may replace production.

Pure library: no GitHub, no environment variables, nothing that cannot run on a laptop or a
Dask worker. ``action`` is the edge that turns events and command lines into calls of this.
"""

from .. import __version__  # noqa: F401  (one version, in the mlgate package)
