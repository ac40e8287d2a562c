"""Runners: one module a kind (settings.OKNO_AUTOMATION_RUNNERS). A module defines a `Runner` subclass
decorated with `@register`; nothing else needs to know about it."""

import importlib
from typing import TYPE_CHECKING, TypeVar

from django.conf import settings
from django.utils.functional import Promise

if TYPE_CHECKING:
    from .base import Runner

RunnerT = TypeVar("RunnerT", bound="type[Runner]")

RUNNERS: dict[str, "Runner"] = {}


def register(cls: RunnerT) -> RunnerT:
    RUNNERS[cls.kind] = cls()
    return cls


def load() -> None:
    for module in settings.OKNO_AUTOMATION_RUNNERS:
        importlib.import_module(module)


def get(kind: str) -> "Runner":
    from django.utils.translation import gettext as _

    from .base import AutomationError

    try:
        return RUNNERS[kind]
    except KeyError:
        raise AutomationError(_("Unknown automation kind “%(kind)s”.") % {"kind": kind}) from None


def choices() -> list[tuple[str, str | Promise]]:
    return [(kind, runner.label) for kind, runner in sorted(RUNNERS.items())]
