"""One-click sign-off links: a signed, expiring token bound to one approver, one row and one version.

The token is not a login: the page it opens asks the user to sign in, shows the plan and asks for a
confirmation by POST, and signs only when the signed-in user is the one the link was made for.
"""

import time
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from common.links import absolute_url

SALT = "okno.approvals.sign-link"


class BadLink(Exception):
    """The token was altered, truncated or made with another key."""


class ExpiredLink(BadLink):
    """The token is genuine but older than OKNO_APPROVAL_LINK_MAX_AGE."""


@dataclass(frozen=True)
class Link:
    row_id: int
    user_id: int
    version: int


class _Signer(signing.TimestampSigner):
    def __init__(self, *, issued_at=None, **kwargs):
        super().__init__(salt=SALT, **kwargs)
        self.issued_at = issued_at

    def timestamp(self):
        return signing.b62_encode(int(self.issued_at if self.issued_at is not None else time.time()))


def max_age():
    return settings.OKNO_APPROVAL_LINK_MAX_AGE


def make_token(row_id, user_id, version, *, issued_at=None):
    """A token for `user_id` to sign row `row_id` as of plan version `version` (issued_at: a UNIX time, for tests)."""
    return _Signer(issued_at=issued_at).sign_object({"r": int(row_id), "u": int(user_id), "v": int(version)})


def read_token(token):
    """The Link in `token`; raises ExpiredLink or BadLink."""
    try:
        data = _Signer().unsign_object(token, max_age=max_age())
    except signing.SignatureExpired as exc:
        raise ExpiredLink(str(exc)) from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise BadLink(str(exc)) from exc
    try:
        return Link(row_id=int(data["r"]), user_id=int(data["u"]), version=int(data["v"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise BadLink("malformed payload") from exc


def link_path(token):
    return reverse("approval_links:confirm", args=[token])


def link_url(row_id, user_id, version):
    """The absolute one-click URL put in the approval e-mail."""
    return absolute_url(link_path(make_token(row_id, user_id, version)))


def diff_path(plan_id):
    # The diff page belongs to the sign-off pages (approvals/urls.py); its path is fixed by the issue.
    return f"/approvals/plans/{plan_id}/diff/"


@transaction.atomic
def record_foreign_use(row_id, *, actor, link_user):
    """Someone signed in as another user tried to sign with a link made for `link_user`: refused, on record."""
    from changeplans.choices import EventKind
    from changeplans.history import record_event
    from changeplans.roles import display_name

    from .models import ApprovalRow

    row = ApprovalRow.objects.select_related("plan").get(pk=row_id)
    reason = _("A sign-off link for %(owner)s was used by %(user)s.") % {
        "owner": display_name(link_user),
        "user": display_name(actor),
    }
    record_event(row.plan, actor=actor, kind=EventKind.REFUSED, obj=row, comment=f"{reason} (email)")
    return reason
