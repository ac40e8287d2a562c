"""The plan's announcements page: who gets what from whom, previews, automatic steps, deliveries,
banners, delay notice."""

import datetime
import re
from dataclasses import dataclass

from django import forms
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from changeplans import announcements, banners
from changeplans.choices import StepStatus
from changeplans.forms import LocalDateTimeInput
from changeplans.limits import validate_date_in_range
from changeplans.models import Banner, Plan, Step
from changeplans.permissions import can_view_plan
from common import htmx
from common.pagination import paginate
from execution import automatic_steps
from notifications.choices import MessageKind
from notifications.models import OutboundEmail, ScheduledAction, WebhookDelivery

TEMPLATE = "execution/announcements.html"
PREVIEW_KINDS = (MessageKind.ANNOUNCEMENT, MessageKind.COMPLETION, MessageKind.DELAY)
# A plan with more deliveries shows the newest ones (the admin has them all).
DELIVERY_PAGE = 50  # e-mails, and webhook calls, a page of the deliveries shows
GROUP_RE = re.compile(r"^plan:\d+:(?P<what>[a-z_]+)(?::(?P<id>\d+))?")
# What the page calls the plan's other sends (the group ids are internal: "plan:2:alerts").
GROUP_NAMES = {
    "alerts": gettext_lazy("Overrun alert to the people on duty"),
    "ended": gettext_lazy("Banners taken down when the work ended"),
    "overrun": gettext_lazy("Overrun alert to the people on duty"),
}


class DelayNoticeForm(forms.Form):
    new_end = forms.DateTimeField(
        label=gettext_lazy("New planned end"),
        widget=LocalDateTimeInput(attrs={"class": "form-control form-control-sm"}),
        validators=[validate_date_in_range],
        help_text=gettext_lazy("In the plan's time zone."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control form-control-sm"}),
        error_messages={"required": gettext_lazy("Give the reason for the delay.")},
    )
    number = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, plan, **kwargs):
        self.plan = plan
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if "new_end" in cleaned and "reason" in cleaned:
            try:
                announcements.check_delay(self.plan, cleaned["new_end"], cleaned["reason"])
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    self.add_error(field, errors)
        return cleaned


def _load_plan(request, pk):
    plan = get_object_or_404(Plan.objects.select_related("responsible", "curator", "author"), pk=pk)
    if not can_view_plan(request.user, plan):
        raise PermissionDenied(_("You may not view this plan."))
    return plan


def _initial_delay(plan):
    end = (plan.window_end + datetime.timedelta(hours=1)).astimezone(plan.tz).replace(tzinfo=None)
    return {"new_end": end}


def _delay_context(request, plan, form=None, preview=None, sent=None, conflict=None):
    refusal = announcements.notice_refusal(request.user, plan)
    return {
        "delay_form": form or DelayNoticeForm(plan=plan, initial=_initial_delay(plan)),
        "delay_preview": preview,
        "delay_sent": sent,
        "delay_conflict": conflict,
        "can_send": refusal is None,
        "delay_refusal": announcements.delay_refusal(plan),
    }


def _steps_context(request, plan):
    steps = list(plan.steps.filter(kind__in=automatic_steps.AUTO_KINDS).order_by("position", "id"))
    keys = {f"plan-step:{step.pk}": step for step in steps}
    actions = {row.key: row for row in ScheduledAction.objects.filter(subject=f"plan:{plan.pk}", key__in=list(keys))}
    for step in steps:
        step.action = actions.get(f"plan-step:{step.pk}")
        step.can_fire = step.status == StepStatus.PENDING
    running = plan.status in announcements.DELAY_STATUSES
    return {"auto_steps": steps, "can_fire": running and announcements.may_fire_steps(request.user)}


def _group_label(group, steps):
    """What a delivery was sent for, in words: never the internal group id."""
    match = GROUP_RE.match(group or "")
    what = match["what"] if match else ""
    if what == "delay" and match["id"]:
        return _("Delay notice No. %(number)s") % {"number": match["id"]}
    if what == "step" and match["id"]:
        step = steps.get(int(match["id"]))
        if step is not None:
            return _("Step %(position)s: %(name)s") % {"position": step.position, "name": step.name}
        return _("An automatic step no longer in the plan")
    if what in GROUP_NAMES:
        return str(GROUP_NAMES[what])
    return _("Other message of the plan")


def _deliveries_context(plan, steps, request=None):
    """The plan's e-mails and webhook calls, newest first, a page of each (?emails=N, ?webhooks=N on the page)."""
    prefix = f"plan:{plan.pk}:"
    by_id = {step.pk: step for step in steps}
    email_rows = OutboundEmail.objects.filter(group__startswith=prefix)
    webhook_rows = WebhookDelivery.objects.filter(group__startswith=prefix)
    # An action's answer (a POST) shows the first pages, and its links keep no parameters of the page.
    shown = request if request is not None and request.method == "GET" else HttpRequest()
    fields = ("to", "from_email", "group", "subject", "state", "attempts", "last_error", "created_at", "sent_at")
    lists = {
        "emails": email_rows.only(*fields).order_by("-created_at", "-id"),
        "webhooks": webhook_rows.defer("body").order_by("-created_at", "-id"),
    }
    pages = {
        name: paginate(shown, rows, param=name, anchor="#deliveries", per_page=DELIVERY_PAGE)
        for name, rows in lists.items()
    }
    emails, webhooks = pages["emails"].items, pages["webhooks"].items
    services = banners.services_of(webhooks)
    for row in webhooks:
        row.service = services.get(row.pk)
    for row in (*emails, *webhooks):
        row.group_label = _group_label(row.group, by_id)
    return {
        "emails": emails,
        "webhooks": webhooks,
        "banners": list(Banner.objects.filter(plan=plan).select_related("service", "created_by", "removed_by")),
        "email_page": pages["emails"],
        "webhook_page": pages["webhooks"],
        # Of all the plan's deliveries, not only the pages shown.
        "failed_count": email_rows.filter(state="failed").count() + webhook_rows.filter(state="failed").count(),
    }


def _previews(plan):
    previews = []
    for kind in PREVIEW_KINDS:
        subject, text, html = announcements.render(plan, kind, extra=announcements.sample_extra(plan, kind))
        previews.append(
            {"kind": kind, "label": MessageKind(kind).label, "subject": subject, "text": text, "html": html}
        )
    return previews


def _page_context(request, plan):
    context = {
        "plan": plan,
        "sender": announcements.sender(plan),
        "recipients": announcements.recipients(plan),
        "previews": _previews(plan),
        "banner_text": announcements.banner_text(plan),
    }
    context.update(_steps_context(request, plan))
    context.update(_deliveries_context(plan, context["auto_steps"], request))
    context.update(_delay_context(request, plan))
    return context


@login_required
def plan_announcements(request, pk):
    plan = _load_plan(request, pk)
    with timezone.override(plan.tz):
        response = render(request, TEMPLATE, _page_context(request, plan))
    response["Vary"] = "HX-Request"
    return response


def _parts(request, plan, names, context):
    """Page fragments: the first swapped into the target, the others out of band."""
    with timezone.override(plan.tz):
        html = [render(request, f"{TEMPLATE}#{names[0]}", context).content.decode()]
        for name in names[1:]:
            html.append(
                "<template>"
                + render(request, f"{TEMPLATE}#{name}", {**context, "oob": True}).content.decode()
                + "</template>"
            )
    return HttpResponse("".join(html))


@login_required
@require_POST
def fire_step(request, pk, step_id):
    """ "Run now" on an automatic step: execution.automatic_steps decides whether it may run."""
    plan = _load_plan(request, pk)
    step = get_object_or_404(Step, pk=step_id, plan=plan)
    from execution import automatic_steps  # the scheduler's side of the plan; imported when used

    level, message = "success", _("“%(name)s” runs now.") % {"name": step.name}
    try:
        automatic_steps.fire_step(step.pk, actor=request.user)
    except PermissionDenied as exc:
        return htmx.forbidden(request, exc)
    except ValidationError as exc:
        level, message = "warning", " ".join(exc.messages)
    if not request.htmx:
        flash.add_message(request, flash.SUCCESS if level == "success" else flash.WARNING, message)
        return redirect("execution:plan_announcements", pk=plan.pk)
    plan.refresh_from_db()
    context = {"plan": plan, **_steps_context(request, plan)}
    context.update(_deliveries_context(plan, context["auto_steps"]))
    return htmx.toast(_parts(request, plan, ["auto-steps", "deliveries"], context), message, level)


@dataclass
class _DelayOutcome:
    """What a delay notice request ends in: the form to show again (None once sent) and what goes with it."""

    form: DelayNoticeForm | None
    status: int = 200
    preview: announcements.DelayPreview | None = None
    sent: announcements.DelayResult | None = None
    conflict: announcements.DelayConflict | None = None
    toast: tuple[str, str] | None = None  # (message, level)


@login_required
def delay_notice(request: HttpRequest, pk: int) -> HttpResponse:
    """The delay notice: POST action=preview shows what will go out; action=send sends it (once); action=edit shows
    the form again. The form validates what was typed; changeplans.announcements previews and sends."""
    plan = _load_plan(request, pk)
    if request.method != "POST":
        return redirect(_delay_notice_url(plan))
    refusal = announcements.notice_refusal(request.user, plan)
    if refusal:
        return htmx.forbidden(request, refusal)
    action = request.POST.get("action", "preview")
    with timezone.override(plan.tz):
        # Inside the plan's zone: the typed local time is read as the plan's wall-clock time.
        form = DelayNoticeForm(request.POST, plan=plan)
        valid = form.is_valid()
    if not valid:
        outcome = _DelayOutcome(form, status=422)
    elif action == "edit":
        outcome = _DelayOutcome(form)
    elif action == "send":
        try:
            outcome = _send_delay_notice(request, plan, form)
        except PermissionDenied as exc:
            return htmx.forbidden(request, exc)
    else:
        outcome = _preview_delay_notice(plan, form)
    return _delay_response(request, plan, outcome)


def _delay_notice_url(plan):
    return reverse("execution:plan_announcements", args=[plan.pk]) + "#delay-notice"


def _preview_delay_notice(plan, form):
    data = form.cleaned_data
    try:
        preview = announcements.preview_delay_notice(plan, new_end=data["new_end"], reason=data["reason"])
    except ValidationError as exc:
        form.add_error(None, exc)
        return _DelayOutcome(form, status=422)
    return _DelayOutcome(form, preview=preview)


def _send_delay_notice(request, plan, form):
    """Send the notice the user previewed (its number is in the form); PermissionDenied is left to the caller."""
    data = form.cleaned_data
    try:
        result = announcements.send_delay_notice(
            plan.pk, actor=request.user, new_end=data["new_end"], reason=data["reason"], number=data.get("number") or 0
        )
    except ValidationError as exc:
        form.add_error(None, exc)
        return _DelayOutcome(form, status=422)
    except announcements.DelayConflict as exc:
        # Show the notice again under the number it would now get.
        preview = announcements.render_delay_notice(
            plan, number=exc.number, new_end=data["new_end"], reason=data["reason"]
        )
        return _DelayOutcome(form, preview=preview, conflict=exc)
    return _DelayOutcome(None, sent=result, toast=_sent_toast(result))


def _sent_toast(result):
    if result.already_sent:
        return _("This delay notice has already been sent; nothing was sent again."), "info"
    count = len(result.emails)
    message = ngettext(
        "Delay notice sent to %(count)d recipient.", "Delay notice sent to %(count)d recipients.", count
    ) % {"count": count}
    return message, "success"


def _delay_response(request, plan, outcome):
    """The delay part of the page (with the deliveries once sent) for HTMX; else the page, or a redirect once sent."""
    preview = _preview_context(outcome.preview) if outcome.preview else None
    context = {"plan": plan, **_delay_context(request, plan, outcome.form, preview, outcome.sent, outcome.conflict)}
    if not request.htmx:
        if outcome.toast:
            message, level = outcome.toast
            flash.add_message(request, flash.SUCCESS if level == "success" else flash.INFO, message)
            return redirect(_delay_notice_url(plan))
        page = _page_context(request, plan)
        page.update(context)
        with timezone.override(plan.tz):
            return render(request, TEMPLATE, page, status=outcome.status)
    names = ["delay"]
    if outcome.sent is not None:
        steps = _steps_context(request, plan)["auto_steps"]
        context.update(_deliveries_context(plan, steps))
        names.append("deliveries")
    response = _parts(request, plan, names, context)
    response.status_code = outcome.status
    return htmx.toast(response, *outcome.toast) if outcome.toast else response


def _preview_context(preview):
    """The preview as the template shows it, with the typed values the confirmation form sends back."""
    return {
        "number": preview.number,
        "subject": preview.subject,
        "text": preview.text,
        "html": preview.html,
        "kind": MessageKind.DELAY,
        "new_end_value": f"{preview.new_end:%Y-%m-%dT%H:%M}",
        "new_end": announcements.seed_time(preview.new_end),
        "reason": preview.reason,
        "recipients": preview.recipients,
    }
