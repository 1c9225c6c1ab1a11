"""Jinja2 templates, installed as the package ``mlgate_templates`` (see pyproject.toml)."""
