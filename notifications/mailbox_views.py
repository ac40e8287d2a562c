"""The local mailbox in the browser: staff only, and only while the mailbox backend is the one in use."""

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render

from common.pagination import paginate

from .models import MailboxMessage

BACKEND = "notifications.mailbox.MailboxBackend"


def _require_mailbox():
    if settings.EMAIL_BACKEND != BACKEND:
        raise Http404("The local mailbox is off: e-mails go to a real server.")


@staff_member_required
def mailbox(request):
    _require_mailbox()
    page = paginate(request, MailboxMessage.objects.only("pk", "from_email", "to", "subject", "received_at"))
    return render(request, "notifications/mailbox.html", {"mail": page, "page": page, "total": page.count})


@staff_member_required
def mailbox_message(request, pk):
    _require_mailbox()
    message = get_object_or_404(MailboxMessage, pk=pk)
    return render(request, "notifications/mailbox_message.html", {"message": message})
