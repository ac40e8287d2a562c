"""Work registered to run after the transaction commits."""

from collections.abc import Callable
from functools import partial

from django.db import transaction


class _Callback(partial[object]):
    """A partial with a `__qualname__`: Django logs a failing robust callback by it, and a plain partial has none
    (the AttributeError then escapes from the commit)."""

    def __new__(cls, func: Callable[..., object], /, *args: object) -> "_Callback":
        callback = super().__new__(cls, func, *args)
        setattr(callback, "__qualname__", getattr(func, "__qualname__", type(func).__qualname__))  # noqa: B010
        return callback


def after_commit(func: Callable[..., object], *args: object) -> None:
    """Call `func(*args)` once the transaction commits; a failure is logged, not raised (robust)."""
    transaction.on_commit(_Callback(func, *args), robust=True)
