from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from .choices import ENDED_RUN_STATUSES, Environment, ParameterType, RunMode, RunStatus
from .crypto import EncryptedTextField


class Cluster(models.Model):
    """A Kubernetes cluster (or a group of hosts) automation runs against, with its credentials."""

    name = models.SlugField(_("name"), max_length=100, unique=True, allow_unicode=False)
    description = models.CharField(_("description"), max_length=300, blank=True)
    environment = models.CharField(
        _("environment"), max_length=20, choices=Environment.choices, default=Environment.PRODUCTION
    )
    kubeconfig = EncryptedTextField(
        _("kubeconfig"), blank=True, help_text=_("Stored encrypted; never shown again after saving.")
    )
    context = models.CharField(
        _("kubeconfig context"), max_length=200, blank=True, help_text=_("Empty: the kubeconfig's current context.")
    )
    ansible_inventory = EncryptedTextField(
        _("Ansible inventory"),
        blank=True,
        help_text=_("INI or YAML inventory; stored encrypted, never shown again after saving."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("cluster")
        verbose_name_plural = _("clusters")

    def __str__(self):
        return self.name


class Secret(models.Model):
    """A named secret automation refers to as {{ secret.NAME }}; its value is resolved only inside the run."""

    name = models.SlugField(_("name"), max_length=100, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    value = EncryptedTextField(_("value"), help_text=_("Stored encrypted; never shown again after saving."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("secret")
        verbose_name_plural = _("secrets")

    def __str__(self):
        return self.name


class Runbook(models.Model):
    """A reusable, parameterised sequence of steps (node maintenance, kubeadm upgrade …)."""

    slug = models.SlugField(_("code"), max_length=100, unique=True)
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    builtin = models.BooleanField(_("from the shipped library"), default=False)
    archived = models.BooleanField(_("archived"), default=False)
    # A standard change (docs/change-types.md): an administrator pre-approved this version of the runbook;
    # a plan made from it with its steps unchanged needs only the duty officer's acknowledgement.
    standard_version = models.ForeignKey(
        "RunbookVersion",
        verbose_name=_("version pre-approved as a standard change"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    standard_marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("marked standard by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    standard_marked_at = models.DateTimeField(_("marked standard at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("runbook")
        verbose_name_plural = _("runbooks")

    def __str__(self):
        return self.title

    @property
    def current(self):
        return self.versions.order_by("-number").first()

    @cached_property
    def display_title(self):
        """The title as pages show it: {{ placeholders }} as their parameters' labels (runbooks.display)."""
        from .display import title

        version = self.current
        return title(version.definition if version else None, self.title)


class RunbookVersion(models.Model):
    """One saved version of a runbook: its definition as parsed YAML (parameters, steps, blocks)."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    definition = models.JSONField(_("definition"))
    source = models.TextField(_("YAML"), blank=True)
    comment = models.CharField(_("what changed"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("saved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("saved at"), default=timezone.now)

    class Meta:
        ordering = ["runbook", "number"]
        constraints = [models.UniqueConstraint(fields=["runbook", "number"], name="runbook_version_unique")]
        verbose_name = _("runbook version")
        verbose_name_plural = _("runbook versions")

    def __str__(self):
        return f"{self.runbook} v{self.number}"


class PlanOrigin(models.Model):
    """Which runbook version (with which parameter values) a plan was created from."""

    plan = models.OneToOneField("changeplans.Plan", on_delete=models.CASCADE, related_name="runbook_origin")
    runbook_version = models.ForeignKey(RunbookVersion, on_delete=models.PROTECT, related_name="plans")
    parameters = models.JSONField(_("parameters"), default=dict)
    # Set when the plan was made from a standard runbook version: the fingerprint of its steps as made.
    # A plan whose steps no longer match it is a normal change (runbooks.standard).
    standard_fingerprint = models.CharField(_("steps fingerprint of a standard change"), max_length=64, blank=True)
    # The cluster the runbook's cluster parameter named when the plan was made (what the plan touches: conflicts).
    cluster = models.ForeignKey(
        Cluster, verbose_name=_("cluster"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("plan origin")
        verbose_name_plural = _("plan origins")

    def __str__(self):
        return f"{self.runbook_version} → {self.plan}"

    def save(self, *args, **kwargs):
        if self._state.adding and self.cluster_id is None:
            self.cluster = named_cluster(self.runbook_version.definition, self.parameters)
        super().save(*args, **kwargs)


def cluster_parameter(definition):
    """The name of a runbook definition's cluster parameter (at most one: runbooks.definition), or None."""
    for parameter in (definition or {}).get("parameters", []) or []:
        if isinstance(parameter, dict) and parameter.get("type") == ParameterType.CLUSTER:
            return parameter.get("name")
    return None


def named_cluster(definition, values):
    """The Cluster the definition's cluster parameter names in `values`, if it exists."""
    name = cluster_parameter(definition)
    value = (values or {}).get(name) if name else None
    if not isinstance(value, str) or not value.strip():
        return None
    return Cluster.objects.filter(name=value.strip()).first()


class StepAutomation(models.Model):
    """The automation a step carries: a runner kind and its spec; {{ name }} in the spec takes `params`."""

    step = models.OneToOneField("changeplans.Step", on_delete=models.CASCADE, related_name="automation")
    kind = models.CharField(_("runner"), max_length=30)
    cluster = models.ForeignKey(
        Cluster, verbose_name=_("cluster"), null=True, blank=True, on_delete=models.PROTECT, related_name="automations"
    )
    spec = models.JSONField(_("specification"), default=dict)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    timeout_seconds = models.PositiveIntegerField(_("timeout, seconds"), default=900)
    start_at_planned_time = models.BooleanField(_("start at the step's planned time"), default=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("last saved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("last saved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("step automation")
        verbose_name_plural = _("step automations")

    def __str__(self):
        return f"{self.kind}: {self.step}"


class ApprovalVia(models.TextChoices):
    SIGN_OFF = "sign_off", _("the plan's sign-off")
    OPERATOR = "operator", _("an operator's approval for rehearsals")


class AutomationApproval(models.Model):
    """A second person's approval of one step automation's exact content (four eyes on code): the
    content's fingerprint, who approved it, when and how. A changed automation has another fingerprint,
    so an approval never covers text its approver did not see."""

    automation = models.ForeignKey(StepAutomation, on_delete=models.CASCADE, related_name="approvals")
    content_hash = models.CharField(_("content fingerprint"), max_length=64)
    via = models.CharField(_("approved through"), max_length=20, choices=ApprovalVia.choices)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("approved by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    signers = models.CharField(
        _("signed by"), max_length=1000, blank=True, help_text=_("Sign-off: everyone who signed the version.")
    )
    version = models.ForeignKey(
        "changeplans.PlanVersion",
        verbose_name=_("plan version"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved at"), default=timezone.now)

    class Meta:
        ordering = ["automation", "-approved_at", "-id"]
        indexes = [models.Index(fields=["automation", "content_hash"])]
        verbose_name = _("automation approval")
        verbose_name_plural = _("automation approvals")

    def __str__(self):
        return f"{self.automation}: {self.get_via_display()}"


class Rehearsal(models.Model):
    """A dry run of a plan's automation before the window, attached to the version approvers see."""

    plan = models.ForeignKey("changeplans.Plan", on_delete=models.CASCADE, related_name="rehearsals")
    version = models.ForeignKey(
        "changeplans.PlanVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="rehearsals"
    )
    digest = models.CharField(_("automation fingerprint"), max_length=64)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["plan", "-created_at", "-id"]
        verbose_name = _("rehearsal")
        verbose_name_plural = _("rehearsals")

    def __str__(self):
        return f"{self.plan} {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"


class AutomationRun(ConcurrentTransitionMixin, models.Model):
    """One execution of a step's automation: production (from the board) or a rehearsal's dry run."""

    plan = models.ForeignKey("changeplans.Plan", on_delete=models.CASCADE, related_name="automation_runs")
    step = models.ForeignKey("changeplans.Step", on_delete=models.CASCADE, related_name="automation_runs")
    rehearsal = models.ForeignKey(Rehearsal, null=True, blank=True, on_delete=models.CASCADE, related_name="runs")
    approval = models.ForeignKey(
        AutomationApproval,
        verbose_name=_("approval it ran under"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs",
    )
    mode = models.CharField(_("mode"), max_length=20, choices=RunMode.choices, default=RunMode.PRODUCTION)
    status = FSMField(_("status"), max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED, protected=True)
    kind = models.CharField(_("runner"), max_length=30)
    cluster_name = models.CharField(_("cluster"), max_length=100, blank=True)
    command = models.TextField(_("command"), blank=True, help_text=_("As executed, secrets redacted."))
    timeout_seconds = models.PositiveIntegerField(_("timeout, seconds"))
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    exit_code = models.IntegerField(_("exit code"), null=True, blank=True)
    summary = models.TextField(_("result"), blank=True)
    log = models.TextField(
        _("log"), blank=True, help_text=_("The full output once the run has ended, secrets redacted.")
    )
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cancelled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    worker = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("automation run")
        verbose_name_plural = _("automation runs")
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self):
        # The history's object label: "Автоматизация шага 4 (kubectl)".
        from django.utils.translation import gettext

        return gettext("Automation of step %(no)s (%(kind)s)") % {"no": self.step.position, "kind": self.kind}

    @property
    def ended(self):
        return self.status in ENDED_RUN_STATUSES

    # Transitions change only this row; runbooks/runs.py locks it, saves it, writes the history and moves the step.
    @transition(field=status, source=RunStatus.QUEUED, target=RunStatus.RUNNING)
    def claim(self, worker):
        self.worker = worker
        self.started_at = self.heartbeat_at = timezone.now()

    @transition(field=status, source=RunStatus.RUNNING, target=RunStatus.SUCCEEDED)
    def succeed(self):
        self.finished_at = timezone.now()

    @transition(field=status, source=RunStatus.RUNNING, target=RunStatus.FAILED)
    def fail(self):
        self.finished_at = timezone.now()

    @transition(field=status, source=RunStatus.RUNNING, target=RunStatus.TIMED_OUT)
    def time_out(self):
        self.finished_at = timezone.now()

    @transition(field=status, source=RunStatus.RUNNING, target=RunStatus.REFUSED)
    def refuse(self):
        self.finished_at = timezone.now()

    @transition(field=status, source=RunStatus.RUNNING, target=RunStatus.SKIPPED)
    def skip(self):
        self.finished_at = timezone.now()

    @transition(field=status, source=RunStatus.RUNNING, target=RunStatus.LOST)
    def lose(self):
        self.finished_at = timezone.now()

    # Queued: nobody has it yet, it ends at once. Running: the worker ends it when it sees the request.
    @transition(field=status, source=[RunStatus.QUEUED, RunStatus.RUNNING], target=RunStatus.CANCELLED)
    def cancel(self):
        self.finished_at = timezone.now()

    def ending(self, status):
        """The transition that ends the run in `status` (a runner's Outcome.status)."""
        endings = {
            RunStatus.SUCCEEDED: self.succeed,
            RunStatus.FAILED: self.fail,
            RunStatus.TIMED_OUT: self.time_out,
            RunStatus.REFUSED: self.refuse,
            RunStatus.SKIPPED: self.skip,
            RunStatus.LOST: self.lose,
            RunStatus.CANCELLED: self.cancel,
        }
        if status not in endings:
            raise ValueError(f"A run does not end in {status!r}.")
        return endings[status]

    @property
    def duration_seconds(self):
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class RunLine(models.Model):
    """One output line of a run, written as it arrives (the board streams these)."""

    run = models.ForeignKey(AutomationRun, on_delete=models.CASCADE, related_name="lines")
    seq = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    text = models.TextField()

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="run_line_unique")]

    def __str__(self):
        return f"#{self.run_id}.{self.seq}: {self.text[:80]}"


class StandardMarking(models.Model):
    """One marking (or withdrawal) of a runbook version as a standard change: who, when, why (runbooks.standard)."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="standard_markings")
    version = models.ForeignKey(RunbookVersion, on_delete=models.CASCADE, related_name="standard_markings")
    marked = models.BooleanField(_("marked standard"), help_text=_("False: the marking was withdrawn."))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    comment = models.TextField(_("comment"))
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["runbook", "-at", "-id"]
        verbose_name = _("standard change marking")
        verbose_name_plural = _("standard change markings")

    def __str__(self):
        return f"{self.version} {'+' if self.marked else '-'}"
