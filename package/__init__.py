"""mlgate: decide whether a candidate ML model may replace production, then watch it serve.

The one installed import name. Its wings live at the repository's root and are mapped here
by ``pyproject.toml``:

- ``mlgate.gates``: the pure core (no GitHub, no environment variables); its front door names
  the public entry points, and ``mlgate.gates.stats`` is the statistics' public API.
- ``mlgate.action``: the edges: the command line, GitHub events and the GitHub API.
- ``mlgate.templates``: the report's Jinja2 templates.
"""

__version__ = "0.1.0"
