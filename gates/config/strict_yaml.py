"""Strict YAML: no aliases, no merge keys, no key written twice.

Each lets one line silently override another a reviewer has read. YAML 1.1 reads `on`,
`yes`, `no` as booleans; mlgate keys avoid them, and `promotion.when` exists precisely so
nobody has to write `on:`.
"""

from __future__ import annotations

import yaml


def join_key(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def closest(word: str, options: set[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.75)
    return match[0] if match else None


def tab_indented_line(text: str, last: int | None = None) -> int | None:
    """The first line (1-based, up to ``last``) whose indentation holds a tab, or None: YAML
    forbids tabs there, and its own message ("cannot start any token") does not say so."""
    for number, line in enumerate(text.splitlines()[:last], start=1):
        indent = line[:len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent and line.strip():
            return number
    return None


class DuplicateKey(yaml.YAMLError):
    """A key written twice in one mapping (YAML would keep the last one silently)."""

    def __init__(self, path: str, problem: str):
        super().__init__(problem)
        self.path, self.problem = path, problem


class StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses aliases (the vehicle of 'billion laughs' bombs), duplicate keys
    and merge keys: each lets one line silently override another a reviewer has read."""

    def compose_node(self, parent, index):  # noqa: D401 - yaml hook
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not allowed in mlgate config", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_document(self, node):
        self._check_keys(node, "")
        return super().construct_document(node)

    def _check_keys(self, node, path: str) -> None:
        if isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._check_keys(item, join_key(path, i))
        elif isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise DuplicateKey(join_key(path, "<<"), f"YAML merge keys (<<) are not allowed (line {line_of(key_node)})")
                key = self.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else None
                where = join_key(path, str(key))
                try:
                    first = seen.setdefault(key, key_node) if key is not None else key_node
                except TypeError:  # an unhashable key: the schema refuses it later
                    first = key_node
                if first is not key_node:
                    raise DuplicateKey(where, f"duplicate key ({lines_of(first, key_node)})")
                self._check_keys(value_node, where)


def line_of(node) -> int:
    return node.start_mark.line + 1


def lines_of(first, second) -> str:
    if line_of(first) == line_of(second):
        return f"line {line_of(first)}, columns {first.start_mark.column + 1} and {second.start_mark.column + 1}"
    return f"lines {line_of(first)} and {line_of(second)}"
