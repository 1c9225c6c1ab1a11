"""mlgate's core: decide whether a candidate model may replace production.

Pure library: no GitHub, no environment variables, nothing that cannot run on a laptop or a
Dask worker. ``action`` is the edge that turns events and command lines into calls of this.
"""

__version__ = "0.1.0"
