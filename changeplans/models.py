import datetime
import zoneinfo

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from common.text import cut_at_word

from .choices import Availability, EventKind, GatePolicy, PartyKind, PlanKind, PlanStatus, StepKind, StepStatus
from .durations import downtime_or_none, parse_downtime, parse_duration, parse_total_duration
from .limits import (
    DATE_RANGE_MESSAGE,
    MAX_SMALL_NUMBER,
    date_in_range,
    datetime_in_zone_range,
    db_date_range,
    db_datetime_range,
    is_known_time_zone,
    validate_date_in_range,
)

# A plan in review or approved stays editable by its author: a material edit makes a new version
# and sends it back for sign-off (changeplans.versioning).
EDITABLE_PLAN_STATUSES = (PlanStatus.DRAFT, PlanStatus.REJECTED, PlanStatus.IN_REVIEW, PlanStatus.APPROVED)
NOT_STARTED_PLAN_STATUSES = (PlanStatus.DRAFT, PlanStatus.IN_REVIEW, PlanStatus.REJECTED, PlanStatus.APPROVED)


def validate_timezone(value):
    # A name of the IANA database only: ZoneInfo() would also read paths such as "../../etc/passwd".
    if not is_known_time_zone(value):
        raise ValidationError(
            _("Unknown time zone “%(tz)s”: choose one from the list, e.g. Asia/Novosibirsk."),
            code="unknown_time_zone",
            params={"tz": value},
        )


class Service(models.Model):
    """A system users see as unavailable during the work (www.nskes.ru — «Инфосайт»)."""

    name = models.CharField(_("address"), max_length=200, unique=True)
    display_name = models.CharField(_("display name"), max_length=200)
    owner = models.CharField(_("owner"), max_length=200, blank=True)
    shows_banner = models.BooleanField(_("shows a maintenance banner"), default=True)
    mailing_list = models.TextField(
        _("announcement recipients"),
        blank=True,
        help_text=_(
            "Addresses that receive every announcement about this service, one per line or separated by commas."
        ),
    )
    announcement_from = models.EmailField(
        _("announcement sender"),
        blank=True,
        help_text=_("Sender of announcements about this service when the plan names none."),
    )
    banner_origins = models.TextField(
        _("sites showing the banner"),
        blank=True,
        help_text=_(
            "Origins allowed to read the banner from a browser (CORS), one per line, e.g. https://www.nskes.ru"
        ),
    )
    banner_webhook_url = models.URLField(
        _("banner webhook"),
        blank=True,
        help_text=_("Optional: the service's own banner API; Okno POSTs every change there, signed with HMAC-SHA256."),
    )
    banner_webhook_secret = models.CharField(_("webhook secret"), max_length=200, blank=True)
    gate_without_plan = models.CharField(
        _("deployments without a plan"),
        max_length=10,
        choices=GatePolicy.choices,
        default=GatePolicy.BLOCK,
        help_text=_(
            "What the deployment gate answers when no plan claims the time (docs/gate.md):"
            " a plan in review, approved or in progress always applies its own rules."
        ),
    )
    conflict_blocks_submission = models.BooleanField(
        _("a conflict blocks submission"),
        default=False,
        help_text=_("When set, a plan whose window overlaps another plan on this service cannot be submitted."),
    )

    class Meta:
        ordering = ["display_name"]
        verbose_name = _("service")
        verbose_name_plural = _("services")

    def __str__(self):
        return self.display_name


class Party(models.Model):
    """Who carries out a step: a person, a team ("Дежурный ООФИС") or a contractor ("ООО «ПрофСофт»")."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=PartyKind.choices, default=PartyKind.PERSON)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="parties",
    )
    contact = models.CharField(_("contact"), max_length=200, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("responsible party")
        verbose_name_plural = _("responsible parties")

    def __str__(self):
        return self.name


ANNOUNCEMENT_INTRO = gettext_noop("We need to carry out planned work for some improvements")


def default_announcement_intro() -> str:
    """The announcement text a new plan starts with, in the creator's language (the field's default stays Russian)."""
    return gettext(ANNOUNCEMENT_INTRO)


class Plan(ConcurrentTransitionMixin, models.Model):
    """A work plan ('план работ'): the RFC for one maintenance window."""

    title = models.CharField(_("title"), max_length=300)
    goal = models.TextField(_("goal of the work"), blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=PlanKind.choices, default=PlanKind.NORMAL)
    status = FSMField(_("status"), default=PlanStatus.DRAFT, choices=PlanStatus.choices, protected=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default=settings.TIME_ZONE, validators=[validate_timezone]
    )
    window_start = models.DateTimeField(_("window start"), validators=[validate_date_in_range])
    window_end = models.DateTimeField(_("window end"), validators=[validate_date_in_range])
    downtime_text = models.CharField(_("possible downtime up to"), max_length=100, blank=True)
    downtime_max_minutes = models.PositiveIntegerField(null=True, blank=True, editable=False)
    # "Общая продолжительность работ: 4 ч 30 мин" as the author states it; the plan check compares it.
    stated_duration_text = models.CharField(_("total duration of the work"), max_length=100, blank=True)
    stated_duration_minutes = models.PositiveIntegerField(null=True, blank=True, editable=False)
    services = models.ManyToManyField(
        Service, through="PlanService", related_name="plans", blank=True, verbose_name=_("affected services")
    )
    client_impact = models.BooleanField(_("affects clients"), default=False)
    banner_needed = models.BooleanField(_("banner is put up"), default=False)
    curator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("curator"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="curated_plans",
    )
    responsible = models.ForeignKey(
        Party,
        verbose_name=_("responsible for the work"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="plans",
    )
    # The plan's own copy: a party is found by name across plans, so its contact must never be shared
    # (an edit of one plan changed the approved announcement of another).
    responsible_contact = models.CharField(_("contact of the responsible"), max_length=200, blank=True)
    jira_url = models.URLField(_("Jira link"), blank=True)
    mailing_list = models.TextField(_("mailing list"), blank=True)
    announcement_subject = models.CharField(_("announcement subject"), max_length=300, blank=True)
    announcement_intro = models.TextField(
        _("announcement text"), blank=True, default="Нам необходимо провести плановые работы для некоторых улучшений"
    )
    announcement_from = models.EmailField(_("announcement sender"), blank=True)
    banner_text = models.TextField(
        _("banner text"),
        blank=True,
        help_text=_("Shown on the affected sites while the banner is up; empty: the standard text."),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT, related_name="authored_plans"
    )
    revision = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Execution (the live board): when the work started and ended, and when rollback mode began.
    started_at = models.DateTimeField(_("started at"), null=True, blank=True, validators=[validate_date_in_range])
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True, validators=[validate_date_in_range])
    rollback_started_at = models.DateTimeField(
        _("rollback started at"), null=True, blank=True, validators=[validate_date_in_range]
    )
    # Emergency change (docs/change-types.md): started before full sign-off; the remaining rows sign by this time.
    emergency_signoff_due = models.DateTimeField(_("post-factum sign-off due"), null=True, blank=True)
    # iCalendar SEQUENCE of the plan's invitations (docs/calendar.md): raised whenever the window or the title
    # changes or the plan is cancelled, so calendar programs replace the event whose UID they hold.
    ics_sequence = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-window_start", "-id"]
        verbose_name = _("work plan")
        verbose_name_plural = _("work plans")
        indexes = [
            models.Index(fields=["status", "window_start"]),
            models.Index(fields=["-window_start", "-id"], name="plan_list_order"),  # the plan list's pages
        ]
        constraints = [
            # Added NOT VALID (migration 0007): rows stored before it are found by `check_plan_dates`.
            models.CheckConstraint(
                condition=db_datetime_range("window_start") & db_datetime_range("window_end"),
                name="plan_window_in_range",
                violation_error_message=DATE_RANGE_MESSAGE,
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        if self._state.adding and self.responsible_id and not self.responsible_contact:
            # A new plan starts with a copy of the party's contact (demo data, runbooks); later edits stay plan-local.
            self.responsible_contact = self.responsible.contact
        super().save(*args, **kwargs)

    def clean(self):
        errors = {}
        tz = self.tz if is_known_time_zone(self.time_zone) else None
        for name in ("window_start", "window_end"):
            value = getattr(self, name)
            # Out of range in its own zone: the field's validator says so. Here: out of range in the plan's zone.
            if value and tz and date_in_range(value) and not datetime_in_zone_range(value, tz):
                errors[name] = ValidationError(DATE_RANGE_MESSAGE, code="date_out_of_range")
        if not errors and self.window_start and self.window_end and self.window_end <= self.window_start:
            errors["window_end"] = _("The window must end after it starts.")
        # Both are kept as typed ("возможное время до 40 мин") with the minutes read from them.
        for text_field, minutes_field, parse in (
            ("downtime_text", "downtime_max_minutes", parse_downtime),
            ("stated_duration_text", "stated_duration_minutes", parse_total_duration),
        ):
            try:
                setattr(self, minutes_field, parse(getattr(self, text_field)))
            except ValidationError as exc:
                errors[text_field] = exc
        if errors:
            raise ValidationError(errors)

    @property
    def tz(self):
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def subject(self):
        return self.announcement_subject or self.title

    @property
    def is_editable(self):
        return self.status in EDITABLE_PLAN_STATUSES

    # Transitions change only this row; services save it and write the history.
    @transition(field=status, source=PlanStatus.DRAFT, target=PlanStatus.IN_REVIEW)
    def submit(self):
        pass

    @transition(field=status, source=PlanStatus.IN_REVIEW, target=PlanStatus.REJECTED)
    def reject(self):
        pass

    @transition(field=status, source=PlanStatus.REJECTED, target=PlanStatus.DRAFT)
    def rework(self):
        pass

    @transition(field=status, source=PlanStatus.IN_REVIEW, target=PlanStatus.APPROVED)
    def approve(self):
        pass

    @transition(field=status, source=PlanStatus.APPROVED, target=PlanStatus.IN_REVIEW)
    def return_to_review(self):
        pass

    @transition(field=status, source=PlanStatus.APPROVED, target=PlanStatus.IN_PROGRESS)
    def start(self):
        pass

    # An emergency change starts before full sign-off (execution.transitions.start_plan checks the signatures).
    @transition(field=status, source=PlanStatus.IN_REVIEW, target=PlanStatus.IN_PROGRESS)
    def start_emergency(self):
        pass

    @transition(field=status, source=PlanStatus.IN_PROGRESS, target=PlanStatus.COMPLETED)
    def complete(self):
        pass

    @transition(field=status, source=PlanStatus.IN_PROGRESS, target=PlanStatus.COMPLETED_WITH_ROLLBACK)
    def complete_with_rollback(self):
        pass

    @transition(field=status, source=PlanStatus.IN_PROGRESS, target=PlanStatus.FAILED)
    def fail(self):
        pass

    @transition(field=status, source=list(NOT_STARTED_PLAN_STATUSES), target=PlanStatus.CANCELLED)
    def cancel(self):
        pass


class PlanSearchDocument(models.Model):
    """A plan's search document (changeplans/search.py, docs/search.md): title and Jira key (weight A), goal (B)
    and step names (C), in PostgreSQL's "russian" configuration (Russian stemming, English for Latin words).

    Written by PostgreSQL triggers only (migration 0012): every write path (services, imports, runbooks, admin,
    bulk inserts) keeps it current, and the plan row itself is never rewritten for it. Its own table so that
    loading a plan never loads the document. Empty on SQLite, where search reads the plan's fields.
    """

    plan = models.OneToOneField(Plan, on_delete=models.CASCADE, primary_key=True, related_name="search_document")
    document = SearchVectorField(null=True)

    class Meta:
        verbose_name = _("search document")
        verbose_name_plural = _("search documents")

    def __str__(self):
        return f"{self.plan_id}"


class PlanService(models.Model):
    """An affected service and its availability during the work ("БУДЕТ НЕДОСТУПЕН")."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="plan_services")
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="plan_services", verbose_name=_("service")
    )
    availability = models.CharField(
        _("availability"), max_length=20, choices=Availability.choices, default=Availability.UNAVAILABLE
    )

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["plan", "service"], name="plan_service_unique")]
        verbose_name = _("affected service")
        verbose_name_plural = _("affected services")

    def __str__(self):
        return f"{self.service} — {self.get_availability_display()}"


class Step(ConcurrentTransitionMixin, models.Model):
    """One row of the work-plan table ('п/п')."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField(_("No."))
    kind = models.CharField(_("kind"), max_length=30, choices=StepKind.choices, default=StepKind.WORK)
    name = models.CharField(_("activity"), max_length=300)
    description = models.TextField(_("short description of the work"), blank=True)
    expected_result = models.TextField(_("expected result"), blank=True)
    risk_mitigation = models.TextField(_("risk mitigation"), blank=True)
    affected_systems = models.TextField(_("affected systems (impact on business processes)"), blank=True)
    planned_downtime = models.CharField(_("planned downtime"), max_length=100, blank=True)
    # The largest number of minutes planned_downtime names ("до 40 мин" -> 40, "нет" -> 0); None: no number read.
    planned_downtime_max_minutes = models.PositiveIntegerField(null=True, blank=True, editable=False)
    executor = models.ForeignKey(
        Party,
        verbose_name=_("responsible executor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="steps",
    )
    planned_date = models.DateField(_("start date"), null=True, blank=True, validators=[validate_date_in_range])
    planned_time = models.TimeField(_("start time"), null=True, blank=True)
    duration_text = models.CharField(_("duration"), max_length=50, blank=True)
    duration_min = models.PositiveIntegerField(null=True, blank=True, editable=False)
    duration_max = models.PositiveIntegerField(null=True, blank=True, editable=False)
    no_rollback_needed = models.BooleanField(_("no rollback needed"), default=False)
    jira_key = models.CharField(_("Jira issue"), max_length=50, blank=True)
    status = FSMField(_("status"), default=StepStatus.PENDING, choices=StepStatus.choices, protected=True)
    actual_start = models.DateTimeField(_("actual start"), null=True, blank=True, validators=[validate_date_in_range])
    actual_end = models.DateTimeField(_("actual finish"), null=True, blank=True, validators=[validate_date_in_range])
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    comment = models.TextField(_("comment"), blank=True)
    revision = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["plan", "position", "id"]
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(planned_date__isnull=True) | db_date_range("planned_date"),
                name="step_planned_date_in_range",
                violation_error_message=DATE_RANGE_MESSAGE,
            ),
        ]

    def __str__(self):
        return f"{self.position}. {self.name}"

    def save(self, *args, **kwargs):
        # The downtime cell is free text; the minutes it names are kept with it whoever saves the step.
        self.planned_downtime_max_minutes = downtime_or_none(self.planned_downtime)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "planned_downtime" in update_fields:
            kwargs["update_fields"] = {*update_fields, "planned_downtime_max_minutes"}
        super().save(*args, **kwargs)

    def set_duration(self, text):
        duration = parse_duration(text)
        self.duration_text = (text or "").strip()
        self.duration_min = duration.min_minutes if duration else None
        self.duration_max = duration.max_minutes if duration else None

    def planned_start(self, tz):
        """The planned start as an aware datetime, or None when the date or time is missing."""
        if not (self.planned_date and self.planned_time):
            return None
        return datetime.datetime.combine(self.planned_date, self.planned_time).replace(tzinfo=tz)

    @transition(field=status, source=StepStatus.PENDING, target=StepStatus.IN_PROGRESS)
    def start(self):
        self.actual_start = timezone.now()

    @transition(field=status, source=StepStatus.IN_PROGRESS, target=StepStatus.DONE)
    def finish(self):
        self.actual_end = timezone.now()

    @transition(field=status, source=StepStatus.IN_PROGRESS, target=StepStatus.FAILED)
    def fail(self):
        self.actual_end = timezone.now()

    @transition(field=status, source=StepStatus.PENDING, target=StepStatus.SKIPPED)
    def skip(self):
        pass

    @transition(field=status, source=StepStatus.FAILED, target=StepStatus.ROLLED_BACK)
    def roll_back(self):
        pass

    @transition(field=status, source=StepStatus.FAILED, target=StepStatus.PENDING)
    def retry(self):
        self.actual_start = self.actual_end = None

    @transition(field=status, source=StepStatus.IN_PROGRESS, target=StepStatus.PENDING)
    def reset(self):
        """Back to waiting: what was running was stopped on purpose (a cancelled automation run)."""
        self.actual_start = self.actual_end = None


class Risk(models.Model):
    """One numbered risk of a step ("1. Неправильная конфигурация IPAM")."""

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="risks")
    number = models.PositiveIntegerField(_("No."), validators=[MaxValueValidator(MAX_SMALL_NUMBER)])
    description = models.TextField(_("risk"))
    mitigation = models.TextField(_("mitigation"), blank=True)

    class Meta:
        ordering = ["step", "number", "id"]
        constraints = [models.UniqueConstraint(fields=["step", "number"], name="risk_number_unique")]
        verbose_name = _("risk")
        verbose_name_plural = _("risks")

    def __str__(self):
        return f"{self.number}. {self.description}"


class RollbackAction(ConcurrentTransitionMixin, models.Model):
    """What to do if something goes wrong ("5/6/7/8 Устранить причину…"), tied to the risks it answers.

    In rollback mode the board ticks these like steps (status, actual times, who).
    """

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="rollback_actions")
    position = models.PositiveIntegerField(default=1)
    text = models.TextField(_("action"))
    risks = models.ManyToManyField(Risk, blank=True, related_name="rollback_actions", verbose_name=_("risks"))
    status = FSMField(
        _("status"), max_length=20, choices=StepStatus.choices, default=StepStatus.PENDING, protected=True
    )
    actual_start = models.DateTimeField(_("actual start"), null=True, blank=True, validators=[validate_date_in_range])
    actual_end = models.DateTimeField(_("actual finish"), null=True, blank=True, validators=[validate_date_in_range])
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["step", "position", "id"]
        verbose_name = _("rollback action")
        verbose_name_plural = _("rollback actions")

    def __str__(self):
        return cut_at_word(self.text, 80)

    def label(self):
        """The seed's numbering: the numbers of the risks this action answers, as "5/6/7/8"."""
        return "/".join(str(risk.number) for risk in sorted(self.risks.all(), key=lambda r: r.number))

    @transition(field=status, source=StepStatus.PENDING, target=StepStatus.IN_PROGRESS)
    def start(self):
        self.actual_start = timezone.now()

    @transition(field=status, source=StepStatus.IN_PROGRESS, target=StepStatus.DONE)
    def finish(self):
        self.actual_end = timezone.now()

    @transition(field=status, source=StepStatus.IN_PROGRESS, target=StepStatus.FAILED)
    def fail(self):
        self.actual_end = timezone.now()

    @transition(field=status, source=StepStatus.PENDING, target=StepStatus.SKIPPED)
    def skip(self):
        pass


class PlanVersion(models.Model):
    """A frozen copy of what approvers sign: made at each submission and at each material edit after it."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    snapshot = models.JSONField(_("content"))

    class Meta:
        ordering = ["plan", "number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="plan_version_unique")]
        verbose_name = _("plan version")
        verbose_name_plural = _("plan versions")

    def __str__(self):
        return f"{self.plan} v{self.number}"


class PlanAttachment(models.Model):
    """A file kept with a plan: the document a plan was imported from (planio), as it was uploaded."""

    class Purpose(models.TextChoices):
        IMPORT = "import", _("Imported from")

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="attachments")
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices, default=Purpose.IMPORT)
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=200, blank=True)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    data = models.BinaryField(_("content"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["plan", "created_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self):
        return self.filename


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The plan history is append-only")

    def delete(self):
        raise PermissionError("The plan history is append-only")


class PlanPdf(models.Model):
    """A stored archive PDF of one version of a plan, made by the worker and served as stored (docs/pdf.md).

    `key` names everything the document depends on (changeplans.pdf_archive.version_key). The bytes live in
    the database like attachments: web and worker share no disk, and a backup of the database holds the
    archive. An `archived` copy (made once the plan was approved or finished) is never changed or deleted;
    its SHA-256 is in the plan's history.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RENDERING = "rendering", _("rendering")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    plan = models.ForeignKey(Plan, verbose_name=_("work plan"), on_delete=models.CASCADE, related_name="pdfs")
    key = models.CharField(_("version key"), max_length=200)
    revision = models.PositiveIntegerField(_("plan revision"))
    last_event = models.PositiveBigIntegerField(_("last history entry"), default=0)
    language = models.CharField(_("language"), max_length=10)
    full_history = models.BooleanField(_("full history"), default=False)
    audience = models.CharField(_("appendices seen"), max_length=64, blank=True)
    # Whose view of the appendices it shows (None: the archive itself, everything).
    viewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=20, default="download")
    freeze = models.BooleanField(_("to be archived"), default=False)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(_("error"), blank=True)
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    steps = models.PositiveIntegerField(_("steps"), default=0)
    expected_seconds = models.FloatField(_("expected seconds"), default=0)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    data = models.BinaryField(_("content"), default=b"", editable=False)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    pages = models.PositiveIntegerField(_("pages"), null=True, blank=True)
    size = models.PositiveBigIntegerField(_("size"), null=True, blank=True)
    html_seconds = models.FloatField(_("HTML seconds"), null=True, blank=True)
    layout_seconds = models.FloatField(_("layout seconds"), null=True, blank=True)
    write_seconds = models.FloatField(_("writing seconds"), null=True, blank=True)
    archived = models.BooleanField(_("archive copy"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    enqueued_at = models.DateTimeField(_("queued at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("plan PDF")
        verbose_name_plural = _("plan PDFs")
        constraints = [models.UniqueConstraint(fields=["plan", "key"], name="one_pdf_per_plan_version")]

    def __str__(self):
        return gettext("Archive PDF No. %(n)s") % {"n": self.pk}


class PlanEvent(models.Model):
    """One append-only entry of a plan's history: who changed what, when, from which status to which."""

    # Indexed with the time and the id below: a plan's history is read newest first, or after a known entry.
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="events", db_index=False)
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    kind = models.CharField(_("event"), max_length=30, choices=EventKind.choices)
    object_type = models.CharField(_("object"), max_length=30, default="plan")
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    object_label = models.CharField(_("object"), max_length=300, blank=True)
    from_status = models.CharField(_("from"), max_length=40, blank=True)
    to_status = models.CharField(_("to"), max_length=40, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("history entry")
        verbose_name_plural = _("history")
        indexes = [
            models.Index(fields=["plan", "at", "id"], name="planevent_plan_at_id"),
            models.Index(fields=["plan", "id"], name="planevent_plan_id"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind} {self.object_label}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("The plan history is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The plan history is append-only")


# Label lookups for history rows; other apps add their own object types in AppConfig.ready().
STATUS_CHOICES_BY_OBJECT = {"plan": PlanStatus, "step": StepStatus, "rollbackaction": StepStatus}


def status_label(object_type, code):
    choices = STATUS_CHOICES_BY_OBJECT.get(object_type)
    if choices is None or not code:
        return code
    try:
        return choices(code).label
    except ValueError:
        return code


PlanEvent.from_label = property(lambda self: status_label(self.object_type, self.from_status))
PlanEvent.to_label = property(lambda self: status_label(self.object_type, self.to_status))


class Banner(models.Model):
    """A maintenance banner on one service's sites; Okno is its source of truth. Active while shown_until is empty.

    Put up and taken down by changeplans.banners (plan steps "banner on/off"); the table was
    notifications_banner until the model moved here (migration changeplans 0008).
    """

    service = models.ForeignKey(Service, verbose_name=_("service"), on_delete=models.CASCADE, related_name="banners")
    plan = models.ForeignKey(
        Plan, verbose_name=_("work plan"), null=True, blank=True, on_delete=models.SET_NULL, related_name="banners"
    )
    step = models.ForeignKey(
        Step, verbose_name=_("step"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(_("text"))
    ends_at = models.DateTimeField(_("planned end"), null=True, blank=True)
    shown_from = models.DateTimeField(_("shown from"))
    shown_until = models.DateTimeField(_("shown until"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("put up by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("taken down by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-shown_from", "-id"]
        verbose_name = _("banner")
        verbose_name_plural = _("banners")
        constraints = [
            models.UniqueConstraint(
                fields=["service"], condition=models.Q(shown_until__isnull=True), name="one_active_banner_per_service"
            )
        ]

    def __str__(self):
        return f"{self.service}: {cut_at_word(self.text, 50)}"

    @property
    def is_active(self):
        return self.shown_until is None


class GridPreference(models.Model):
    """How one user likes the step table ('п/п' grid) of plan pages: the columns they hid."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="grid_preference"
    )
    # Field names from changeplans.columns.COLUMNS; names no longer there are ignored when read.
    hidden_columns = models.JSONField(_("hidden columns"), default=list, blank=True)

    class Meta:
        verbose_name = _("step table preference")
        verbose_name_plural = _("step table preferences")

    def __str__(self):
        return f"{self.user}: {', '.join(self.hidden_columns) or '—'}"
