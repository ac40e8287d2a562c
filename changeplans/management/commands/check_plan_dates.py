"""Find and repair plans and steps stored with dates outside 2000–2100 (before the bounds existed).

Such rows (a window at 0001-01-01 Asia/Novosibirsk is year 1 BC in PostgreSQL) cannot be loaded by
Python: list pages leave them out, their own pages say to run this command.

    manage.py check_plan_dates                                   # list them
    manage.py check_plan_dates --plan 12 --start 2026-03-20T20:00 --end 2026-03-20T23:00
    manage.py check_plan_dates --plan 12 --steps-to-window       # steps' dates := the window's start date
"""

import datetime
import zoneinfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import F, Q, TextField
from django.db.models.functions import Cast

from changeplans.choices import EventKind
from changeplans.history import record_event
from changeplans.limits import MAX_DATE, MIN_DATE, datetime_in_zone_range, db_datetime_range, is_known_time_zone
from changeplans.models import Plan, Step

COMMENT = "Dates repaired by manage.py check_plan_dates"


def _bad_plans():
    return Plan.objects.exclude(db_datetime_range("window_start") & db_datetime_range("window_end"))


def _bad_steps():
    return Step.objects.filter(Q(planned_date__lt=MIN_DATE) | Q(planned_date__gt=MAX_DATE))


class Command(BaseCommand):
    help = "List plans and steps with dates outside 2000–2100 and repair them (no SQL needed)."

    def add_arguments(self, parser):
        parser.add_argument("--plan", type=int, help="The plan to repair.")
        parser.add_argument("--start", help="New window start, wall-clock time in the plan's zone: YYYY-MM-DDTHH:MM.")
        parser.add_argument("--end", help="New window end, as --start.")
        parser.add_argument(
            "--steps-to-window",
            action="store_true",
            help="Set the plan's out-of-range step dates to the window's start date.",
        )

    def handle(self, *args, plan=None, start=None, end=None, steps_to_window=False, **options):
        if plan is None:
            return self._list()
        if (start is None) != (end is None):
            raise CommandError("Give both --start and --end.")
        with transaction.atomic():
            row = Plan.objects.select_for_update().filter(pk=plan).values("pk", "time_zone").first()
            if row is None:
                raise CommandError(f"No plan #{plan}.")
            tz = zoneinfo.ZoneInfo(row["time_zone"] if is_known_time_zone(row["time_zone"]) else settings.TIME_ZONE)
            changes = {}
            if start is not None:
                changes.update(self._set_window(plan, tz, start, end))
            obj = Plan.objects.get(pk=plan)  # loadable now (or it never was broken)
            if steps_to_window:
                day = obj.window_start.astimezone(tz).date()
                count = _bad_steps().filter(plan_id=plan).update(planned_date=day)
                if count:
                    changes["steps.planned_date"] = [f"{count} out of range", day.isoformat()]
            if changes:
                record_event(obj, actor=None, kind=EventKind.EDITED, comment=COMMENT, changes=changes)
        self.stdout.write(
            f"Plan #{plan}: " + ("; ".join(f"{k}: {v[0]} → {v[1]}" for k, v in changes.items()) or "nothing to change")
        )

    def _set_window(self, plan_id, tz, start, end):
        try:
            new_start, new_end = (datetime.datetime.fromisoformat(value).replace(tzinfo=tz) for value in (start, end))
        except ValueError as exc:
            raise CommandError(f"Write times as YYYY-MM-DDTHH:MM: {exc}") from exc
        if not (datetime_in_zone_range(new_start, tz) and datetime_in_zone_range(new_end, tz)):
            raise CommandError(f"Dates must lie between {MIN_DATE} and {MAX_DATE}.")
        if new_end <= new_start:
            raise CommandError("The window must end after it starts.")
        old = (
            Plan.objects.filter(pk=plan_id)
            .values_list(Cast("window_start", TextField()), Cast("window_end", TextField()))
            .get()
        )
        Plan.objects.filter(pk=plan_id).update(
            window_start=new_start, window_end=new_end, ics_sequence=F("ics_sequence") + 1
        )
        return {"window_start": [old[0], new_start.isoformat()], "window_end": [old[1], new_end.isoformat()]}

    def _list(self):
        plans = _bad_plans().values_list(
            "pk",
            "title",
            "author__username",
            "time_zone",
            Cast("window_start", TextField()),
            Cast("window_end", TextField()),
        )
        steps = _bad_steps().values_list("pk", "plan_id", "position", Cast("planned_date", TextField()))
        for pk, title, author, tz, start, end in plans:
            self.stdout.write(f"plan #{pk} «{title}» ({author}, {tz}): window {start} – {end}")
        for pk, plan_id, position, day in steps:
            self.stdout.write(f"step #{pk} (plan #{plan_id}, No. {position}): planned date {day}")
        if not plans and not steps:
            self.stdout.write("All plan and step dates lie between %s and %s." % (MIN_DATE, MAX_DATE))
        else:
            self.stdout.write(
                "Repair: manage.py check_plan_dates --plan ID --start YYYY-MM-DDTHH:MM --end YYYY-MM-DDTHH:MM"
                " [--steps-to-window]"
            )
