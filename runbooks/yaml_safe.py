"""A bounded YAML loader for what people type or upload (runbooks, automation specs).

PyYAML expands aliases: a few hundred bytes of nested anchors and aliases become millions of nodes
("billion laughs"), which then cost minutes and gigabytes to walk or store. A runbook or an automation
spec has no need for them, so anchors and aliases are refused outright, and the document is bounded in
bytes, nodes and depth before anything is built from it.

Refusals raise `Refused`, a yaml.MarkedYAMLError: callers that already catch yaml.YAMLError and show
`problem` and `problem_mark` (line, column) report it like any other YAML error.
"""

import yaml
from django.utils.translation import gettext as _

RUNBOOK_LIMITS = {"max_bytes": 512 * 1024, "max_nodes": 20_000, "max_depth": 32}
SPEC_LIMITS = {"max_bytes": 64 * 1024, "max_nodes": 5_000, "max_depth": 32}


class Refused(yaml.MarkedYAMLError):
    """The document is refused before it is built; `problem` says why, `problem_mark` where."""

    def __init__(self, problem, mark=None):
        super().__init__(problem=problem, problem_mark=mark)


class _Loader(yaml.SafeLoader):
    max_nodes = RUNBOOK_LIMITS["max_nodes"]
    max_depth = RUNBOOK_LIMITS["max_depth"]

    def __init__(self, stream):
        super().__init__(stream)
        self.nodes = 0
        self.depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise Refused(
                _("anchors and aliases (“&%(name)s”, “*%(name)s”) are not allowed: write the value out.")
                % {"name": event.anchor},
                event.start_mark,
            )
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise Refused(
                _("the document has more than %(count)d values.") % {"count": self.max_nodes}, event.start_mark
            )
        self.depth += 1
        try:
            if self.depth > self.max_depth:
                raise Refused(
                    _("the document is nested deeper than %(depth)d levels.") % {"depth": self.max_depth},
                    event.start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def compose(
    text,
    *,
    max_bytes=RUNBOOK_LIMITS["max_bytes"],
    max_nodes=RUNBOOK_LIMITS["max_nodes"],
    max_depth=RUNBOOK_LIMITS["max_depth"],
):
    """(loader, root node) of one bounded document; build the data with loader.construct_document(node)."""
    size = len(text.encode("utf-8", errors="replace")) if isinstance(text, str) else len(text)
    if size > max_bytes:
        raise Refused(_("the document is larger than %(size)d KiB.") % {"size": max_bytes // 1024})
    loader = _Loader(text)
    loader.max_nodes, loader.max_depth = max_nodes, max_depth
    try:
        return loader, loader.get_single_node()
    finally:
        loader.dispose()


def load(text, **limits):
    """The data of one bounded YAML document (None for an empty one); raises Refused or yaml.YAMLError."""
    loader, node = compose(text, **limits)
    if node is None:
        return None
    return loader.construct_document(node)


def load_spec(text):
    """An automation spec or parameter list (YAML or JSON), with the tighter limits of SPEC_LIMITS."""
    return load(text, **SPEC_LIMITS)
