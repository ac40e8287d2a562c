"""Work done after commit: by a Celery worker (production) or by this process (tests, no worker)."""

from collections.abc import Callable

from django.conf import settings
from django.utils.module_loading import import_string


def hand_over(task: str, run_here: Callable[..., object], *args: object) -> None:
    """Queue the Celery task at dotted path `task` with `args` when OKNO_USE_WORKER, else call `run_here(*args)`.

    The task is imported here, not by the caller: tasks modules import the modules that hand work over.
    """
    if settings.OKNO_USE_WORKER:
        import_string(task).delay(*args)
    else:
        run_here(*args)
