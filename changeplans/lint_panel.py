"""A save's update of the plan check panel: the findings that changed, not the whole list (docs/architecture.md, Saves).

A plan of 2,000 steps can have 2,000 findings; a cell save changes one or two of them. `panel_updates` compares
the report before the save with the one after and answers with out-of-band parts that turn the panel as shown
into the new one: the count badge, the summary line (projected end, critical path) when it changed, and each
finding deleted, replaced or inserted, found in the page by its address (its code and the element it links to,
unique within a report). The parts are cut from the panel partial itself (`plan_detail.html#lint`) rendered
with only the changed findings, so they are the bytes the whole panel would have.

Positions are never used: a panel that is not exactly the "before" state (someone else saved meanwhile) gets
the same findings replaced where it has them, never a finding in the wrong place. When the findings changed
order, an address is not unique, or many changed, the whole panel is sent as before (`None`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence
from typing import Any, cast

from django.http import HttpRequest
from django.shortcuts import render

from .lint import LintReport, LintWarning

MOST_CHANGES = 40  # more changed findings than this: send the whole panel (one swap is then as cheap)
LIST = "#lint-panel ul.okno-lint"
SUMMARY = "#lint-panel .card-body > .mb-2"

_BADGE = re.compile(r'<span\b[^>]*\bid="lint-count"[^>]*>.*?</span>', re.S)
_SUMMARY = re.compile(r'<div class="mb-2">.*?</div>', re.S)
_ITEM = re.compile(r"<li\b.*?</li>", re.S)


def address(warning: LintWarning) -> tuple[str, str | None]:
    """How the page finds a finding's item: its code and the element it links to."""
    return warning.address


def selector(key: tuple[str, str | None]) -> str:
    """The CSS selector of a finding's item (codes and targets are identifiers: no quotes to escape)."""
    code, target = key
    if target is None:
        return f"{LIST} > li[data-code='{code}']:not(:has(> a))"
    return f"{LIST} > li[data-code='{code}']:has(> a[data-okno-finding='{target}'])"


class _Shown:
    """The findings the partial lists (only the changed ones) with the count of all of them for its badge."""

    def __init__(self, items: Sequence[LintWarning], count: int) -> None:
        self.items, self.count = list(items), count

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[LintWarning]:
        return iter(self.items)


@dataclasses.dataclass
class Changes:
    deleted: list[tuple[str, str | None]]
    replaced: list[tuple[str, str | None]]
    inserted: list[tuple[tuple[str, str | None] | None, list[tuple[str, str | None]]]]  # (after, run of new keys)

    @property
    def size(self) -> int:
        return len(self.deleted) + len(self.replaced) + sum(len(run) for _after, run in self.inserted)


def changes(old: Sequence[LintWarning], new: Sequence[LintWarning]) -> Changes | None:
    """What turns the list `old` into `new`, by address; None when only the whole list will do."""
    old_keys, new_keys = [w.address for w in old], [w.address for w in new]
    old_by, new_by = dict(zip(old_keys, old, strict=True)), dict(zip(new_keys, new, strict=True))
    if len(old_by) != len(old_keys) or len(new_by) != len(new_keys):
        return None  # an address twice: it would not find one item
    if [k for k in old_keys if k in new_by] != [k for k in new_keys if k in old_by]:
        return None  # the findings kept changed order (a move, a renumbering)
    inserted: list[tuple[tuple[str, str | None] | None, list[tuple[str, str | None]]]] = []
    previous: tuple[str, str | None] | None = None
    for key in new_keys:
        if key in old_by:
            previous = key
        elif inserted and inserted[-1][0] == previous:
            inserted[-1][1].append(key)
        else:
            inserted.append((previous, [key]))
    return Changes(
        deleted=[k for k in old_keys if k not in new_by],
        replaced=[k for k in new_keys if k in old_by and old_by[k] != new_by[k]],
        inserted=inserted,
    )


def _with_attribute(html: str, attribute: str) -> str:
    """Add an attribute at the end of the first tag of an HTML fragment (its attribute values hold no ">")."""
    end = html.index(">")
    return f"{html[:end]} {attribute}{html[end:]}"


def panel_updates(
    request: HttpRequest, context: dict[str, Any], old: LintReport, new: LintReport, summary_changed: bool
) -> list[str] | None:
    """The out-of-band parts (each in a <template>) that update the panel from `old` to `new`, or None."""
    found = changes(old.warnings, new.warnings)
    if found is None or found.size > MOST_CHANGES:
        return None
    new_by = {address(w): w for w in new.warnings}
    shown = [*found.replaced, *(key for _after, run in found.inserted for key in run)]
    # The partial reads only len() and the loop of `warnings`: a stand-in list that counts them all.
    listed = cast("list[LintWarning]", _Shown([new_by[key] for key in shown], len(new.warnings)))
    report = dataclasses.replace(new, warnings=listed)
    # Only the findings' items, badge and summary are taken from it: the extensions' checks (other plans' conflicts,
    # freezes) stay as the page has them, and their queries are not run on every cell save.
    html = render(
        request,
        "changeplans/plan_detail.html#lint",
        {**context, "report": report, "oob": False, "without_plan_checks": True},
    )
    panel = html.content.decode()
    badge, summary = _BADGE.search(panel), _SUMMARY.search(panel)
    items = _ITEM.findall(panel)
    if badge is None or summary is None or len(items) != len(shown):
        return None  # the panel's markup is not what this expects: the whole panel is right anyway
    item_of = dict(zip(shown, items, strict=True))
    parts = [_with_attribute(badge[0], 'hx-swap-oob="true"')]
    if summary_changed:
        parts.append(_with_attribute(summary[0], f'hx-swap-oob="outerHTML:{SUMMARY}"'))
    parts += [f'<li hx-swap-oob="delete:{selector(key)}"></li>' for key in found.deleted]
    parts += [_with_attribute(item_of[key], f'hx-swap-oob="outerHTML:{selector(key)}"') for key in found.replaced]
    for after, run in found.inserted:
        where = f"afterend:{selector(after)}" if after is not None else f"afterbegin:{LIST}"
        parts.append(f'<ul hx-swap-oob="{where}">{"".join(item_of[key] for key in run)}</ul>')
    return [f"<template>{part}</template>" for part in parts]
