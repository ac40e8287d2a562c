"""`manage.py load_demo`: load the seed plan and print the demo logins (used by `make run`)."""

import datetime

from django.core.management.base import BaseCommand
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from common.links import absolute_url
from demo.change_calendar import DEMO_WEEK_START, load_calendar_demo
from demo.plans import DEMO_PASSWORD, DEMO_USERS, load_demo, load_scheduled_demo
from demo.runbooks import load_automation_demo, load_runbook_demo
from execution.automatic_steps import next_fire_time


class Command(BaseCommand):
    help = "Load the demo plan (Calico in PROD Kubernetes) with its users; safe to run again."

    def handle(self, *args, **options):
        plan = load_demo()
        scheduled = load_scheduled_demo()
        runbooks = load_runbook_demo()
        automated = load_automation_demo()
        load_calendar_demo()
        self._write_logins()
        self._write_links(plan, scheduled, runbooks, automated)
        self._write_calendar_links()

    def _write_logins(self):
        """A table of the demo users: username, password, roles and name."""
        rows = [
            # Surname first, as the seed writes names: "Хасанов А.И.".
            (
                spec["username"],
                DEMO_PASSWORD,
                ", ".join(role.value for role in spec["roles"]),
                f"{spec['last_name']} {spec['first_name']}".strip(),
            )
            for spec in DEMO_USERS
        ]
        header = (_("Username"), _("Password"), _("Roles"), _("Name"))
        widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
        self.stdout.write(_("Demo logins:"))
        for row in [header, *rows]:
            self.stdout.write(
                "  " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            )

    def _write_links(self, plan, scheduled, runbooks, automated):
        """Where to look, as full addresses (OKNO_BASE_URL, which `make run` sets from its HOST and PORT): the seed
        plan, the runbook library, the automation demo and the announcements demo."""
        self.stdout.write(
            _("Demo plan: %(path)s") % {"path": absolute_url(reverse("changeplans:plan_detail", args=[plan.pk]))}
        )
        self.stdout.write(
            _("Runbooks: %(path)s — %(count)d in the library")
            % {"path": absolute_url(reverse("runbooks:runbook_list")), "count": runbooks}
        )
        self.stdout.write(
            _("Automation demo: %(path)s — log in as operator, start the work, run the steps")
            % {"path": absolute_url(reverse("execution:plan_board", args=[automated.pk]))}
        )
        due = next_fire_time(scheduled)
        path = absolute_url(reverse("execution:plan_announcements", args=[scheduled.pk]))
        if due:
            self.stdout.write(
                _("Announcements demo: %(path)s — next automatic step at %(time)s; e-mails land in /mailbox/ (admin)")
                % {"path": path, "time": timezone.localtime(due, scheduled.tz).strftime("%H:%M")}
            )
        else:
            self.stdout.write(_("Announcements demo: %(path)s; e-mails in /mailbox/ (admin)") % {"path": path})

    def _write_calendar_links(self):
        """The CAB agenda of the seed's week (the demo's plans in review, their conflict, the emergency one)."""
        end = DEMO_WEEK_START + datetime.timedelta(days=6)
        path = f"{reverse('changecalendar:cab')}?start={DEMO_WEEK_START:%Y-%m-%d}&end={end:%Y-%m-%d}"
        self.stdout.write(_("CAB agenda of the demo week: %(path)s") % {"path": absolute_url(path)})
