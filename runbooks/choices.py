from django.db import models
from django.utils.translation import gettext_lazy as _


class RunMode(models.TextChoices):
    PRODUCTION = "production", _("Production run")
    REHEARSAL = "rehearsal", _("Rehearsal (dry run)")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("QUEUED")
    RUNNING = "running", _("RUNNING")
    SUCCEEDED = "succeeded", _("SUCCEEDED")
    FAILED = "failed", _("FAILED")
    TIMED_OUT = "timed_out", _("TIMED OUT")
    CANCELLED = "cancelled", _("CANCELLED")
    REFUSED = "refused", _("REFUSED")
    LOST = "lost", _("WORKER LOST")
    SKIPPED = "skipped", _("NO DRY RUN")


ACTIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
ENDED_RUN_STATUSES = tuple(s for s in RunStatus if s not in ACTIVE_RUN_STATUSES)


class Environment(models.TextChoices):
    PRODUCTION = "production", _("Production")
    TEST = "test", _("Test")


class ParameterType(models.TextChoices):
    STRING = "string", _("Text")
    NODE_LIST = "node_list", _("Node list")
    CLUSTER = "cluster", _("Cluster")
    VERSION = "version", _("Version")
    NAMESPACE = "namespace", _("Namespace")
    INTEGER = "integer", _("Number")
    CHOICE = "choice", _("Choice")


class PlanEventState(models.TextChoices):
    """History label of a plan's event about a runbook (object type "runbook")."""

    SAVED_AS_RUNBOOK = "saved_as_runbook", _("SAVED AS A RUNBOOK")
