"""``mlgate registry list|show|audit``: what the policy's registry holds, and every move it
recorded."""

from __future__ import annotations

import click

from .cli_options import debug_option, workspace_options, workspace_policy


@click.group("registry")
def registry_group() -> None:
    """Inspect the model registry named by the policy."""


@registry_group.command("list")
@workspace_options
@debug_option
def registry_list(config, workspace, debug) -> int:
    """One line per version, newest last, with its aliases."""
    from .registries import open_registry

    policy, workspace = workspace_policy(config, workspace)
    registry = open_registry(policy, workspace)
    aliases = registry.aliases()
    for v in registry.versions():
        names = ",".join(sorted(a for a, n in aliases.items() if n == v.version))
        click.echo(f"{v.version}\t{v.sha256[:12]}\t{v.created_at}\t{v.promoted_by or ''}\t{names}\t{v.source}")
    return 0


@registry_group.command("audit")
@workspace_options
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
@debug_option
def registry_audit(config, workspace, as_json, debug) -> int:
    """Every alias move the registry recorded (who, why, when), oldest first."""
    import json

    from .registries import open_registry

    policy, workspace = workspace_policy(config, workspace)
    registry = open_registry(policy, workspace)
    entries = registry.audit()
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return 0
    from ..gates.escape import log_text

    for e in entries:
        moved = (f"{e.get('alias')} {e.get('from') or '-'} -> {e.get('version') or '-'}" if e.get("alias")
                 else f"version {e.get('version')}")
        fields = (e.get("at", ""), e.get("action", ""), moved, e.get("by") or "", e.get("reason") or "")
        click.echo("\t".join(log_text(str(f)) for f in fields))  # each field one escaped line
    return 0


@registry_group.command("show")
@click.argument("number", type=int)
@workspace_options
@debug_option
def registry_show(number, config, workspace, debug) -> int:
    """Everything recorded about version NUMBER, as JSON."""
    import dataclasses

    from ..gates.result import dumps
    from .registries import open_registry

    policy, workspace = workspace_policy(config, workspace)
    registry = open_registry(policy, workspace)
    version = registry.get(number)
    aliases = sorted(a for a, n in registry.aliases().items() if n == number)
    click.echo(dumps({**dataclasses.asdict(version), "aliases": aliases}), nl=False)
    return 0
