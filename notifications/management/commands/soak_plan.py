"""`manage.py soak_plan`: e-mails due every minute for a soak test of the scheduler (scripts/soak.sh).

`soak_plan --minutes 30 --tag T` schedules 30 e-mails to the local mailbox, one at the start of each
of the next 30 minutes, through the real path (a ScheduledAction row, beat's dispatch, the worker,
the outbox, the mail backend). `soak_plan --check --tag T` prints, as JSON, what became of them.
"""

import datetime
import json

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count
from django.utils import timezone

from notifications.actions import schedule_email
from notifications.choices import ScheduleState
from notifications.models import MailboxMessage, ScheduledAction

RECIPIENT = "soak@example.org"


def _subject(tag, number):
    return f"Soak {tag} #{number:03d}"


class Command(BaseCommand):
    help = "Schedule one e-mail a minute for N minutes (a soak test), or --check what became of them."

    def add_arguments(self, parser):
        parser.add_argument("--minutes", type=int, default=30)
        parser.add_argument("--tag", required=True, help="names this soak run's e-mails")
        parser.add_argument("--check", action="store_true", help="report instead of scheduling")

    def handle(self, *args, minutes, tag, check, **options):
        if check:
            self.stdout.write(json.dumps(self.report(tag)))
            return
        if minutes < 1:
            raise CommandError("--minutes must be at least 1")
        first = timezone.now().replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
        for number in range(1, minutes + 1):
            due = first + datetime.timedelta(minutes=number - 1)
            schedule_email(
                f"soak:{tag}:{number}",
                due,
                to=[RECIPIENT],
                subject=_subject(tag, number),
                text=f"Soak test {tag}: e-mail {number} of {minutes}, due {due.isoformat()}.",
            )
        last = first + datetime.timedelta(minutes=minutes - 1)
        self.stdout.write(
            json.dumps({"tag": tag, "minutes": minutes, "first_due": first.isoformat(), "last_due": last.isoformat()})
        )

    def report(self, tag):
        rows = list(ScheduledAction.objects.filter(key__startswith=f"email:soak:{tag}:").order_by("due_at"))
        states = {}
        for row in rows:
            states[row.state] = states.get(row.state, 0) + 1
        late = [(row.fired_at - row.due_at).total_seconds() for row in rows if row.fired_at]
        mail = MailboxMessage.objects.filter(subject__startswith=f"Soak {tag} #")
        per_subject = dict(mail.values_list("subject").annotate(n=Count("id")).values_list("subject", "n"))
        expected = [_subject(tag, n) for n in range(1, len(rows) + 1)]
        return {
            "tag": tag,
            "rows": len(rows),
            "states": states,
            "done": states.get(ScheduleState.DONE, 0),
            "mails": sum(per_subject.values()),
            "missing_mails": [s for s in expected if s not in per_subject],
            "duplicate_mails": sorted(s for s, n in per_subject.items() if n > 1),
            "late_seconds_max": round(max(late), 3) if late else None,
            "due_passed": sum(1 for row in rows if row.due_at <= timezone.now()),
        }
