from django.db import models
from django.utils.translation import gettext_lazy as _


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("DRAFT")
    IN_REVIEW = "in_review", _("IN REVIEW")
    REJECTED = "rejected", _("REJECTED")
    APPROVED = "approved", _("APPROVED")
    IN_PROGRESS = "in_progress", _("IN PROGRESS")
    COMPLETED = "completed", _("COMPLETED")
    COMPLETED_WITH_ROLLBACK = "completed_with_rollback", _("COMPLETED WITH ROLLBACK")
    FAILED = "failed", _("FAILED")
    CANCELLED = "cancelled", _("CANCELLED")


class GatePolicy(models.TextChoices):
    """What the deployment gate answers for a service when no plan claims the time (docs/gate.md)."""

    BLOCK = "block", _("Block deployments")
    ALLOW = "allow", _("Allow deployments")


class StepStatus(models.TextChoices):
    PENDING = "pending", _("NOT DONE")
    IN_PROGRESS = "in_progress", _("IN PROGRESS")
    DONE = "done", _("DONE")
    FAILED = "failed", _("FAILED")
    SKIPPED = "skipped", _("SKIPPED")
    ROLLED_BACK = "rolled_back", _("ROLLED BACK")


class PlanKind(models.TextChoices):
    NORMAL = "normal", _("Normal")
    STANDARD = "standard", _("Standard (pre-approved runbook)")
    EMERGENCY = "emergency", _("Emergency")


class StepKind(models.TextChoices):
    WORK = "work", _("Work")
    ANNOUNCEMENT = "announcement", _("Announcement")
    BANNER_ON = "banner_on", _("Banner on")
    BANNER_OFF = "banner_off", _("Banner off")
    COMPLETION_NOTICE = "completion_notice", _("Completion notice")


class Availability(models.TextChoices):
    AVAILABLE = "available", _("AVAILABLE")
    DEGRADED = "degraded", _("DEGRADED")
    UNAVAILABLE = "unavailable", _("WILL BE UNAVAILABLE")


class PartyKind(models.TextChoices):
    PERSON = "person", _("Person")
    TEAM = "team", _("Team")
    CONTRACTOR = "contractor", _("Contractor")


class EventKind(models.TextChoices):
    TRANSITION = "transition", _("Status change")
    CREATED = "created", _("Created")
    EDITED = "edited", _("Edited")
    STEP_ADDED = "step_added", _("Step added")
    STEP_DELETED = "step_deleted", _("Step deleted")
    STEPS_REORDERED = "steps_reordered", _("Steps reordered")
    VERSION = "version", _("New version")
    REFUSED = "refused", _("Refused")
    ALERT = "alert", _("Alert")
    IMPORTED = "imported", _("Imported")
    KIND_CHANGED = "kind_changed", _("Change type changed")


class Role(models.TextChoices):
    """Django groups that carry the roles of DESIGN.md."""

    AUTHOR = "author", _("Author")
    APPROVER = "approver", _("Approver")
    DUTY_OFFICER = "duty_officer", _("Duty officer")
    OPERATOR = "operator", _("Operator")
    ADMIN = "admin", _("Administrator")
