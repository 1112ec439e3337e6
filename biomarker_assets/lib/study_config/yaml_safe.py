"""The one YAML loader for study configs: safe tags only, no aliases, bounded depth and size, no duplicate keys.

Configs come from a bucket that study teams write, so the loader is built for hostile input:

- ``yaml.SafeLoader`` underneath: ``!!python/object/apply`` and every other ``!!python`` tag is refused,
  except ``!!python/tuple``, which ``skdh.Pipeline.save`` writes for tuple parameters; it is built as a list.
- Aliases (``*name``) are allowed, as ``Pipeline.save`` writes one when two parameters share a tuple,
  but the document's size with every alias expanded is bounded by :data:`MAX_NODES`: an alias bomb
  (a few KB that expand into gigabytes once walked) is refused while it is composed.
- Nesting deeper than :data:`MAX_DEPTH` is refused before PyYAML's recursive composer hits Python's
  recursion limit (a 1,000-level config used to raise a raw ``RecursionError``).
- A key repeated in one mapping is refused with both lines, so a reviewer never reads one value
  while the code uses another (PyYAML keeps the last silently).
- Documents over :data:`MAX_CONFIG_BYTES` are refused before parsing (the store refuses them before
  reading the body too).

The pure-Python loader is used on purpose: libyaml's C composer cannot be bounded this way, and a
config of at most 1 MiB parses in well under a second.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, SequenceNode

#: the largest config accepted, in bytes (the demo config is about 6 KB).
MAX_CONFIG_BYTES = 1024 * 1024
#: the deepest nesting of mappings/sequences accepted (a config needs about 8).
MAX_DEPTH = 64
#: the most values (scalars, lists, mappings) a config may hold with its aliases expanded (the demo: ~700).
MAX_NODES = 100_000

_TUPLE_TAG = "tag:yaml.org,2002:python/tuple"


class _HostileInputLoader(yaml.SafeLoader):
    """SafeLoader that bounds depth and expanded size, refuses duplicate keys, and reads tuples as lists."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0
        self._expanded: dict[int, int] = {}  # id(node) -> values in it with aliases expanded

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(AliasEvent):  # the anchored node, already composed and weighed
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            start = self.peek_event().start_mark
            if self._depth > MAX_DEPTH:
                raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", start)
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._expanded[id(node)] = size = 1 + sum(self._expanded[id(child)] for child in _children(node))
        if size > MAX_NODES:
            raise ComposerError(
                None, None, f"expands to more than {MAX_NODES:,} values (aliases of aliases?)", node.start_mark
            )
        return node

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            self.flatten_mapping(node)
            seen: dict[Hashable, int] = {}
            for key_node, _value in node.value:
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, Hashable):
                    continue  # SafeConstructor reports unhashable keys itself
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found duplicate key {key!r} on line {line} (first on line {seen[key]})",
                        key_node.start_mark,
                    )
                seen[key] = line
        return super().construct_mapping(node, deep=deep)

    def construct_python_tuple_as_list(self, node: Node) -> list[Any]:
        return self.construct_sequence(node)


_HostileInputLoader.add_constructor(_TUPLE_TAG, _HostileInputLoader.construct_python_tuple_as_list)


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


class YamlRefused(ValueError):
    """The document is not YAML this project accepts; the message says where and why."""


def load_untrusted_yaml(raw: bytes) -> Any:
    """The document in ``raw``; raises :class:`YamlRefused` for anything the module docstring refuses."""
    if len(raw) > MAX_CONFIG_BYTES:
        raise YamlRefused(f"{len(raw):,} bytes is over the {MAX_CONFIG_BYTES:,}-byte limit for a study config")
    try:
        return yaml.load(raw, Loader=_HostileInputLoader)  # noqa: S506  # the loader above is a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise YamlRefused(f"not valid YAML: {exc}") from None
    except (RecursionError, ValueError) as exc:  # e.g. an integer of more than 4,300 digits
        raise YamlRefused(f"not readable YAML: {type(exc).__name__}: {exc}") from None
