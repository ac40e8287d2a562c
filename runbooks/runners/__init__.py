"""Runners: one module a kind (settings.OKNO_AUTOMATION_RUNNERS). A module defines a `Runner` subclass
decorated with `@register`; nothing else needs to know about it."""

import importlib

from django.conf import settings

RUNNERS = {}


def register(cls):
    RUNNERS[cls.kind] = cls()
    return cls


def load():
    for module in settings.OKNO_AUTOMATION_RUNNERS:
        importlib.import_module(module)


def get(kind):
    from .base import AutomationError

    from django.utils.translation import gettext as _

    try:
        return RUNNERS[kind]
    except KeyError:
        raise AutomationError(_("Unknown automation kind “%(kind)s”.") % {"kind": kind}) from None


def choices():
    return [(kind, runner.label) for kind, runner in sorted(RUNNERS.items())]
