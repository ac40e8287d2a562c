"""The plan's announcements page: who gets what from whom, previews, automatic steps, deliveries, banners, delay notice."""

import datetime
import re

from django import forms
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from notifications.choices import MessageKind
from notifications.models import Banner, OutboundEmail, ScheduledAction, WebhookDelivery

from changeplans import announcements
from execution import automatic_steps
from changeplans.choices import StepStatus
from changeplans.forms import LocalDateTimeInput
from changeplans.limits import validate_date_in_range
from changeplans.models import Plan, Step
from changeplans.permissions import can_view_plan
from changeplans.views import _forbidden, _toast

TEMPLATE = "execution/announcements.html"
PREVIEW_KINDS = (MessageKind.ANNOUNCEMENT, MessageKind.COMPLETION, MessageKind.DELAY)
# A plan with more deliveries shows the newest ones (the admin has them all).
DELIVERY_LIMIT = 300
GROUP_RE = re.compile(r"^plan:\d+:(?P<what>step|delay):(?P<id>\d+)$")


class DelayNoticeForm(forms.Form):
    new_end = forms.DateTimeField(
        label=gettext_lazy("New planned end"), widget=LocalDateTimeInput(attrs={"class": "form-control form-control-sm"}),
        validators=[validate_date_in_range],
        help_text=gettext_lazy("In the plan's time zone."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2, "class": "form-control form-control-sm"}),
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
    match = GROUP_RE.match(group or "")
    if not match:
        return group
    if match["what"] == "delay":
        return _("Delay notice No. %(number)s") % {"number": match["id"]}
    step = steps.get(int(match["id"]))
    return _("Step %(position)s: %(name)s") % {"position": step.position, "name": step.name} if step else group


def _deliveries_context(plan, steps):
    prefix = f"plan:{plan.pk}:"
    by_id = {step.pk: step for step in steps}
    emails = list(
        OutboundEmail.objects.filter(group__startswith=prefix)
        .only("to", "from_email", "group", "subject", "state", "attempts", "last_error", "created_at", "sent_at")
        .order_by("-created_at", "-id")[:DELIVERY_LIMIT]
    )
    webhooks = list(
        WebhookDelivery.objects.filter(group__startswith=prefix).select_related("service")
        .defer("body").order_by("-created_at", "-id")[:DELIVERY_LIMIT]
    )
    for row in (*emails, *webhooks):
        row.group_label = _group_label(row.group, by_id)
    return {
        "emails": emails,
        "webhooks": webhooks,
        "banners": list(Banner.objects.filter(plan=plan).select_related("service", "created_by", "removed_by")),
        "failed_count": sum(1 for row in (*emails, *webhooks) if row.state == "failed"),
    }


def _previews(plan):
    previews = []
    for kind in PREVIEW_KINDS:
        subject, text, html = announcements.render(plan, kind, extra=announcements.sample_extra(plan, kind))
        previews.append({"kind": kind, "label": MessageKind(kind).label, "subject": subject, "text": text, "html": html})
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
    context.update(_deliveries_context(plan, context["auto_steps"]))
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
            html.append("<template>" + render(request, f"{TEMPLATE}#{name}", {**context, "oob": True}).content.decode() + "</template>")
    return HttpResponse("".join(html))


@login_required
@require_POST
def fire_step(request, pk, step_id):
    """"Run now" on an automatic step: execution.automatic_steps decides whether it may run."""
    plan = _load_plan(request, pk)
    step = get_object_or_404(Step, pk=step_id, plan=plan)
    from execution import automatic_steps  # the scheduler's side of the plan; imported when used

    level, message = "success", _("“%(name)s” runs now.") % {"name": step.name}
    try:
        automatic_steps.fire_step(step.pk, actor=request.user)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    except ValidationError as exc:
        level, message = "warning", " ".join(exc.messages)
    if not request.htmx:
        flash.add_message(request, flash.SUCCESS if level == "success" else flash.WARNING, message)
        return redirect("execution:plan_announcements", pk=plan.pk)
    plan.refresh_from_db()
    context = {"plan": plan, **_steps_context(request, plan)}
    context.update(_deliveries_context(plan, context["auto_steps"]))
    return _toast(_parts(request, plan, ["auto-steps", "deliveries"], context), message, level)


@login_required
def delay_notice(request, pk):
    """The delay notice: POST action=preview shows what will go out; action=send sends it (once)."""
    plan = _load_plan(request, pk)
    if request.method != "POST":
        return redirect(reverse("execution:plan_announcements", args=[plan.pk]) + "#delay-notice")
    refusal = announcements.notice_refusal(request.user, plan)
    if refusal:
        return _forbidden(request, refusal)
    action = request.POST.get("action", "preview")
    with timezone.override(plan.tz):
        # Inside the plan's zone: the typed local time is read as the plan's wall-clock time.
        form = DelayNoticeForm(request.POST, plan=plan)
        valid = form.is_valid()
    status, preview, sent, conflict, toast = 200, None, None, None, None
    if not valid or action == "edit":
        status = 422 if not valid else 200
    elif action == "send":
        number = form.cleaned_data.get("number") or 0
        try:
            result = announcements.send_delay_notice(
                plan.pk, actor=request.user, new_end=form.cleaned_data["new_end"], reason=form.cleaned_data["reason"], number=number,
            )
        except PermissionDenied as exc:
            return _forbidden(request, exc)
        except ValidationError as exc:
            form.add_error(None, exc)
            status = 422
        except announcements.DelayConflict as exc:
            conflict = exc
            preview = _delay_preview(plan, form, exc.number)
        else:
            sent = result
            if result.already_sent:
                toast = (_("This delay notice has already been sent; nothing was sent again."), "info")
            else:
                count = len(result.emails)
                toast = (ngettext("Delay notice sent to %(count)d recipient.", "Delay notice sent to %(count)d recipients.", count) % {"count": count}, "success")
            form = None
    else:
        refusal = announcements.delay_refusal(plan)
        if refusal:
            form.add_error(None, refusal)
            status = 422
        else:
            preview = _delay_preview(plan, form, announcements.delay_notices_sent(plan.pk) + 1)
    context = {"plan": plan, **_delay_context(request, plan, form, preview, sent, conflict)}
    if not request.htmx:
        if toast:
            flash.add_message(request, flash.SUCCESS if toast[1] == "success" else flash.INFO, toast[0])
            return redirect(reverse("execution:plan_announcements", args=[plan.pk]) + "#delay-notice")
        page = _page_context(request, plan)
        page.update(context)
        with timezone.override(plan.tz):
            return render(request, TEMPLATE, page, status=status)
    names = ["delay"]
    if sent is not None:
        steps = _steps_context(request, plan)["auto_steps"]
        context.update(_deliveries_context(plan, steps))
        names.append("deliveries")
    response = _parts(request, plan, names, context)
    response.status_code = status
    return _toast(response, *toast) if toast else response


def _delay_preview(plan, form, number):
    extra = {"new_end": form.cleaned_data["new_end"], "reason": form.cleaned_data["reason"].strip()}
    subject, text, html = announcements.render(plan, MessageKind.DELAY, extra=extra)
    local_end = form.cleaned_data["new_end"].astimezone(plan.tz)
    return {
        "number": number, "subject": subject, "text": text, "html": html, "kind": MessageKind.DELAY,
        "new_end_value": f"{local_end:%Y-%m-%dT%H:%M}", "new_end": announcements.seed_time(local_end),
        "reason": extra["reason"], "recipients": announcements.recipients(plan),
    }
