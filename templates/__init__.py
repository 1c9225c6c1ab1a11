"""Jinja2 templates, installed as ``mlgate.templates`` (see pyproject.toml)."""
