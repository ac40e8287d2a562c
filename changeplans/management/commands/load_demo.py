"""`manage.py load_demo`: load the seed plan and print the demo logins (used by `make run`)."""

from django.core.management.base import BaseCommand
from django.urls import reverse
from django.utils.translation import gettext as _

from changeplans.demo import DEMO_PASSWORD, DEMO_USERS, load_demo


class Command(BaseCommand):
    help = "Load the demo plan (Calico in PROD Kubernetes) with its users; safe to run again."

    def handle(self, *args, **options):
        plan = load_demo()
        rows = [
            # Surname first, as the seed writes names: "Хасанов А.И.".
            (spec["username"], DEMO_PASSWORD, ", ".join(role.value for role in spec["roles"]), f"{spec['last_name']} {spec['first_name']}".strip())
            for spec in DEMO_USERS
        ]
        header = (_("Username"), _("Password"), _("Roles"), _("Name"))
        widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
        self.stdout.write(_("Demo logins:"))
        for row in [header, *rows]:
            self.stdout.write("  " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
        self.stdout.write(_("Demo plan: %(path)s") % {"path": reverse("changeplans:plan_detail", args=[plan.pk])})
