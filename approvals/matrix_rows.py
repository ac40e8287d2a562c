"""The matrix builder's rows, rendered in plain Python (issue 16, as approvals/inbox_rows.py does for the inbox).

The author of a draft sees the builder on the plan page: each row has inputs, selects, three forms and eight
translated labels, and Django's template engine spent about 0.4 ms a row on them. This module writes the same
HTML with f-strings and `html.escape` (what Django's `escape` calls). `templates/approvals/inc/
matrix_builder_rows.html` (with `approvals/inc/matrix_row_note.html`, which the row saves keep using) stays the
readable reference: tests/approvals/test_matrix_rows.py renders both and requires the same bytes. Change both
together.
"""

from collections.abc import Mapping
from html import escape as _html_escape
from typing import Any

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from changeplans.templatetags.okno import fast_url

SYNC = 'hx-target="#approval-matrix" hx-swap="outerHTML" hx-sync="closest section:queue all"'


def escape(value: object) -> str:
    """Django's escape (the same entities) without its lazy-string wrapper."""
    return _html_escape(str(value))


def render_rows(context: Mapping[str, Any]) -> SafeString:
    """The builder's table rows for the template context `context` (signoff, focus_row, focus_move, csrf_token,
    row_id): what templates/approvals/inc/matrix_builder_rows.html renders."""
    signoff = context["signoff"]
    rows = signoff["rows"]
    if not rows:
        return mark_safe(
            '<tr><td colspan="6" class="text-secondary text-center okno-matrix-empty">'
            + escape(
                gettext("No rows yet: add them with “+ Row”, apply a template or copy the matrix of another plan.")
            )
            + "</td></tr>"
        )
    # {% translate %} escapes what it writes; {% blocktranslate %} escapes only its variables.
    label = {
        name: escape(gettext(text))
        for name, text in (
            ("position", "Position"),
            ("full_name", "Full name"),
            ("surname", "Surname or group…"),
            ("choose", "— choose —"),
            ("people", "People"),
            ("groups", "Groups (any member acknowledges)"),
            ("kind", "Sign-off kind"),
            ("approval", "Approval"),
            ("acknowledgement", "Acknowledgement"),
            ("stage", "Stage"),
            ("up", "Move up"),
            ("down", "Move down"),
            ("remove", "Remove the row"),
        )
    }
    aria = {
        name: gettext(text)
        for name, text in (
            ("position", "Position, row %(n)s"),
            ("full_name", "Full name, row %(n)s"),
            ("kind", "Kind, row %(n)s"),
            ("stage", "Stage, row %(n)s"),
            ("up", "Move row %(n)s up"),
            ("down", "Move row %(n)s down"),
            ("remove", "Remove row %(n)s"),
        )
    }
    token = context.get("csrf_token")
    csrf = (
        ""
        if not token or token == "NOTPROVIDED"
        else f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(token)}">'
    )
    picker_url = signoff.get("picker_url")
    focus_row, focus_move = context.get("focus_row"), context.get("focus_move")
    row_id = context.get("row_id")
    last = len(rows) - 1
    parts = []
    for index, row in enumerate(rows):
        pk, n = row.pk, escape(row.position)
        job_title, kind = escape(row.job_title), row.kind
        focused = focus_row == pk
        if picker_url:
            who = (
                f'\n        <input type="text" value="{escape(row.person_name)}" class="form-control form-control-sm'
                f' okno-matrix-who" style="min-width: 8rem" autocomplete="off" placeholder="{label["surname"]}"'
                f' aria-label="{aria["full_name"] % {"n": n}}" data-okno-picker="{escape(picker_url)}"'
                f' data-okno-picker-kind="user,group" data-okno-picker-into="#matrix-who-{pk}">'
                f'\n        <input type="hidden" name="who" id="matrix-who-{pk}" value="{escape(row.who_key)}">'
                "\n        "
            )
        else:
            who_key = row.who_key
            users = "".join(
                f'<option value="{escape(key)}"{" selected" if key == who_key else ""}>{escape(text)}</option>'
                for key, text in signoff.get("choice_users", ())
            )
            groups = "".join(
                f'<option value="{escape(key)}"{" selected" if key == who_key else ""}>{escape(text)}</option>'
                for key, text in signoff.get("choice_groups", ())
            )
            who = (
                f'\n        <select name="who" class="form-select form-select-sm okno-matrix-who"'
                f' aria-label="{aria["full_name"] % {"n": n}}">'
                f'\n          <option value="">{label["choose"]}</option>'
                f'\n          <optgroup label="{label["people"]}">{users}</optgroup>'
                f'\n          <optgroup label="{label["groups"]}">{groups}</optgroup>'
                "\n        </select>\n        "
            )
        problem = getattr(row, "problem", None)
        note = (
            f'\n        <div id="matrix-row-note-{escape(row_id or pk)}" class="small okno-matrix-note">'
            + (
                f'<span class="text-warning-emphasis okno-matrix-row-problem">{escape(problem)}</span>'
                if problem
                else ""
            )
            + "</div>\n"
        )
        move_url = escape(fast_url("approvals:matrix_row_move", pk))
        delete_url = escape(fast_url("approvals:matrix_row_delete", pk))
        parts.append(
            f'\n    <tr id="approval-row-{pk}" class="okno-matrix-edit-row" data-row="{pk}" data-kind="{escape(kind)}"'
            f' data-status="{escape(row.status)}"'
            f'\n        hx-post="{escape(fast_url("approvals:matrix_row_update", pk))}" hx-trigger="change"'
            f' hx-include="this" {SYNC}>'
            f'\n      <td class="text-nowrap align-middle okno-matrix-position">{n}</td>'
            f'\n      <td data-label="{label["position"]}"><input type="text" name="job_title" value="{job_title}"'
            ' maxlength="300" class="form-control form-control-sm okno-matrix-job" style="min-width: 8rem"'
            f' title="{job_title}" aria-label="{aria["position"] % {"n": n}}" placeholder="—"'
            f"{' autofocus' if focused and not focus_move else ''}></td>"
            f'\n      <td class="okno-matrix-who-cell" data-label="{label["full_name"]}">{who}{note}</td>'
            f'\n      <td class="okno-matrix-kind-cell" data-label="{label["kind"]}"><select name="kind"'
            ' class="form-select form-select-sm okno-matrix-kind" style="width: 9.75rem"'
            f' aria-label="{aria["kind"] % {"n": n}}">'
            f'\n        <option value="approval"{" selected" if kind == "approval" else ""}>'
            f"{label['approval']}</option>"
            f'\n        <option value="acknowledgement"{" selected" if kind == "acknowledgement" else ""}>'
            f"{label['acknowledgement']}</option>"
            "\n      </select></td>"
            f'\n      <td class="okno-matrix-stage-cell" data-label="{label["stage"]}">'
            '<input type="number" name="stage"'
            f' value="{escape(row.stage)}" min="1" max="99" required class="form-control form-control-sm'
            f' okno-matrix-stage" style="width: 3.5rem" aria-label="{aria["stage"] % {"n": n}}"></td>'
            '\n      <td class="text-nowrap align-middle okno-matrix-actions">\n        '
            f'\n        <form class="d-inline" method="post" action="{move_url}" hx-include="this"'
            f' hx-post="{move_url}" {SYNC}>{csrf}<input type="hidden" name="direction" value="up"><button'
            ' type="submit" class="btn btn-sm btn-outline-secondary py-0 px-1 okno-matrix-up"'
            f' title="{label["up"]}" aria-label="{aria["up"] % {"n": n}}"{" disabled" if index == 0 else ""}'
            f"{' autofocus' if focused and focus_move == 'up' else ''}>↑</button></form>"
            f'\n        <form class="d-inline" method="post" action="{move_url}" hx-include="this"'
            f' hx-post="{move_url}" {SYNC}>{csrf}<input type="hidden" name="direction" value="down"><button'
            ' type="submit" class="btn btn-sm btn-outline-secondary py-0 px-1 okno-matrix-down"'
            f' title="{label["down"]}" aria-label="{aria["down"] % {"n": n}}"{" disabled" if index == last else ""}'
            f"{' autofocus' if focused and focus_move == 'down' else ''}>↓</button></form>"
            "\n        "
            f'\n        <form class="d-inline" method="post" action="{delete_url}" hx-include="this"'
            f' hx-post="{delete_url}" {SYNC}>{csrf}<button type="submit" class="btn btn-sm btn-outline-danger'
            f' py-0 px-1 okno-matrix-delete" title="{label["remove"]}" aria-label="{aria["remove"] % {"n": n}}">✕'
            "</button></form>"
            "\n      </td>\n    </tr>\n  "
        )
    return mark_safe("".join(parts))
