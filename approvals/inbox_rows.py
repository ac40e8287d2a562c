"""The inbox's rows, rendered in plain Python (issue 16, as changeplans/rows.py does for the plan page's steps).

A row of «Ждут моего согласования» carries the plan, its window, the user's row, the version and the sign-off
forms: Django's template engine spent about 0.7 ms a row on its tags, filters and include; this module writes
the same HTML with f-strings and `html.escape` (what Django's `escape` calls). `templates/approvals/inc/
inbox_row.html` (with `approvals/inc/row_actions.html`, which the matrix and the diff page keep using) stays the
readable reference: tests/approvals/test_inbox_rows.py renders both and requires the same bytes. Change both
together.
"""

from collections.abc import Iterable
from html import escape as _html_escape
from typing import Any

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext

from changeplans.roles import display_name
from changeplans.templatetags.change_types import plan_kind_badge
from changeplans.templatetags.okno import fast_url
from common.names import name_after_for

from .choices import RowKind

PART, TARGET = "inbox", "#inbox"


def escape(value: object) -> str:
    """Django's escape (the same entities) without its lazy-string wrapper."""
    return _html_escape(str(value))


def render_rows(
    entries: Iterable[dict[str, Any]], *, csrf_token: str | None, error: dict[str, Any] | None = None
) -> SafeString:
    """The rows of the inbox's table for `entries` (approvals.selectors.inbox_entries); `error`: a refused
    rejection to show under its row ({"row", "comment", "message"})."""
    # {% translate %} escapes what it writes: so do these.
    labels = {
        name: escape(gettext(text))
        for name, text in (
            ("window", "Window"),
            ("my_row", "My row"),
            ("no", "No."),
            ("acknowledgement", "acknowledgement"),
            ("version_to_sign", "Version to sign"),
            ("since", "Since my last decision"),
            ("no_changes", "no changes"),
            ("first_look", "first look"),
            ("comment", "Comment (optional)"),
            ("approve", "Approve"),
            ("reject_toggle", "Reject…"),
            ("reason", "Reason for rejecting (the author will see it)"),
            ("reject", "Reject"),
            ("acknowledge", "Acknowledge"),
            ("not_now", "not now"),
        )
    }
    # As {% csrf_token %} writes it (nothing without a token).
    csrf = (
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf_token)}">'
        if csrf_token and csrf_token != "NOTPROVIDED"
        else ""
    )
    return mark_safe("\n      ".join(render_row(entry, labels, csrf, error) for entry in entries))


def render_row(entry: dict[str, Any], labels: dict[str, str], csrf: str, error: dict[str, Any] | None) -> str:
    row, plan, version = entry["row"], entry["plan"], entry["version"]
    last, changes, principal = entry["last_decided"], entry["changes"], entry["principal"]
    pk = row.pk
    start, end = (timezone.localtime(moment, plan.tz) for moment in (plan.window_start, plan.window_end))
    job = f" · {escape(row.job_title)}" if row.job_title else ""
    for_principal = (
        ' <span class="badge text-bg-light border okno-inbox-principal">'
        f"{gettext('for %(name)s') % {'name': escape(display_name(principal))}}</span>"
        if principal
        else ""
    )
    kind = (
        f'<span class="badge text-bg-light border">{labels["acknowledgement"]}</span>'
        if row.kind == RowKind.ACKNOWLEDGEMENT
        else ""
    )
    badge = f" {plan_kind_badge(plan)}" if plan.kind != "normal" else ""
    to_sign = f'<span class="okno-inbox-version">{gettext("version %(n)s") % {"n": version}}</span>' if version else "—"
    if last and version and last < version:
        if changes is not None:
            text = ngettext(
                "%(counter)s change since version %(n)s", "%(counter)s changes since version %(n)s", changes
            ) % {"counter": changes, "n": last}
        else:
            text = gettext("changes since version %(n)s") % {"n": last}
        diff = fast_url("approvals:plan_diff", plan.pk)
        link = f'<a class="okno-inbox-diff" href="{diff}?from={last}&amp;to={version}">{text}</a>'
        since = f"\n            {link}\n          "
    elif last:
        since = f'<span class="text-secondary">{labels["no_changes"]}</span>\n          '
    else:
        since = f'<span class="text-secondary">{labels["first_look"]}</span>'
    return (
        f'<tr id="inbox-row-{pk}" class="okno-inbox-row" data-row="{pk}" data-plan="{plan.pk}" '
        f'data-version="{version or ""}">\n'
        f'        <td class="okno-inbox-title"><a href="{fast_url("changeplans:plan_detail", plan.pk)}" '
        f'class="okno-inbox-plan fw-semibold">{escape(plan.title)}</a>{badge}</td>\n'
        f'        <td class="text-nowrap small" data-label="{labels["window"]}">{start:%d.%m.%Y %H:%M} – '
        f'{end:%d.%m.%Y %H:%M}<div class="text-secondary">{escape(plan.time_zone)}</div></td>\n'
        f'        <td class="small" data-label="{labels["my_row"]}"><span class="text-secondary">{labels["no"]} '
        f"{row.position}</span>{job}\n"
        f"          <div>{escape(row.person_name)}{for_principal}\n"
        f"            {kind}</div></td>\n"
        f'        <td class="text-nowrap" data-label="{labels["version_to_sign"]}">{to_sign}</td>\n'
        f'        <td class="small okno-inbox-changes" data-label="{labels["since"]}">{since}</td>\n'
        f'        <td class="okno-inbox-actions">{_actions(row, version, labels, csrf, error)}</td>\n'
        "      </tr>"
    )


def _actions(row: Any, version: int | None, labels: dict[str, str], csrf: str, error: dict[str, Any] | None) -> str:
    """approvals/inc/row_actions.html with part="inbox" and target="#inbox"."""
    pk = row.pk
    version_text = "" if version is None else version
    hidden = (
        f'<input type="hidden" name="version" value="{version_text}"><input type="hidden" name="part" value="{PART}">'
    )
    if not (row.can_sign or row.can_acknowledge):
        if row.refusal:
            return (
                f'\n<span class="small text-secondary okno-refusal" title="{escape(row.refusal)}" data-row="{pk}">'
                f"ⓘ {labels['not_now']}</span>\n"
            )
        return "\n\n"
    principal = ""
    if row.for_principal:
        name = escape(name_after_for(display_name(row.for_principal)))
        text = gettext("for %(name)s") % {"name": name}
        principal = f'<div class="w-100 small text-secondary okno-for-principal">{text}</div>'
    if row.can_sign:
        mine = error is not None and error.get("row") == pk
        approve, reject = (
            fast_url("approvals:row_decide", pk, "approve"),
            fast_url("approvals:row_decide", pk, "reject"),
        )
        comment = escape(error.get("comment", "")) if mine and error else ""
        message = (
            f'<div class="invalid-feedback d-block okno-decision-error">{escape(error.get("message", ""))}</div>'
            if mine and error
            else ""
        )
        form = (
            f"\n  \n"
            f'  <form class="okno-approve-form d-flex gap-1 flex-grow-1" method="post" action="{approve}" '
            f'hx-post="{approve}" hx-target="{TARGET}" hx-swap="outerHTML">{csrf}\n'
            f"    {hidden}\n"
            f'    <input type="text" name="comment" maxlength="4000" class="form-control form-control-sm '
            f'okno-approve-comment flex-grow-1" style="min-width: 8rem" placeholder="{labels["comment"]}" '
            f'aria-label="{labels["comment"]}">\n'
            f'    <button type="submit" class="btn btn-sm btn-success text-nowrap okno-approve">{labels["approve"]}'
            "</button>\n"
            "  </form>\n"
            '  <button type="button" class="btn btn-sm btn-outline-danger text-nowrap okno-reject-toggle" '
            f'data-bs-toggle="collapse" data-bs-target="#reject-{PART}-{pk}" '
            f'aria-expanded="{"true" if mine else "false"}" '
            f'aria-controls="reject-{PART}-{pk}">{labels["reject_toggle"]}</button>\n'
            "  \n"
            f'  <form id="reject-{PART}-{pk}" class="collapse w-100 okno-reject-form{" show" if mine else ""}" '
            f'method="post" action="{reject}" hx-post="{reject}" hx-target="{TARGET}" hx-swap="outerHTML">{csrf}\n'
            f"    {hidden}\n"
            f'    <label class="form-label small mb-0" for="reject-reason-{PART}-{pk}">{labels["reason"]}</label>\n'
            f'    <textarea id="reject-reason-{PART}-{pk}" name="comment" rows="2" required maxlength="4000" '
            f'class="form-control form-control-sm okno-reject-reason{" is-invalid" if mine else ""}">'
            f"{comment}</textarea>\n"
            f"    {message}\n"
            f'    <button type="submit" class="btn btn-sm btn-danger mt-1 okno-reject">{labels["reject"]}</button>\n'
            "  </form>\n"
            "  "
        )
    else:
        acknowledge = fast_url("approvals:row_decide", pk, "acknowledge")
        form = (
            "\n  \n"
            f'  <form class="okno-acknowledge-form d-flex gap-1" method="post" action="{acknowledge}" '
            f'hx-post="{acknowledge}" hx-target="{TARGET}" hx-swap="outerHTML">{csrf}\n'
            f"    {hidden}\n"
            f'    <button type="submit" class="btn btn-sm btn-success text-nowrap okno-acknowledge">'
            f"{labels['acknowledge']}</button>\n"
            "  </form>\n"
            "  "
        )
    return (
        "\n\n"
        f'<div class="okno-signoff-actions d-flex flex-wrap align-items-start gap-1" data-row="{pk}">\n'
        f"  {principal}\n"
        f"  {form}\n"
        "</div>\n\n"
    )
