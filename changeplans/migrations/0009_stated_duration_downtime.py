"""A step's downtime keeps the minutes it names; the plan gets a stated total duration (issue 13).

Steps stored before get their minutes read from the text they have ("до 40 мин" → 40, "нет" → 0,
unreadable → null). The parser is imported rather than frozen here: it only reads text.
"""

from django.db import migrations, models


def read_downtimes(apps, schema_editor):
    from changeplans.durations import downtime_or_none

    Step = apps.get_model("changeplans", "Step")
    Plan = apps.get_model("changeplans", "Plan")
    steps = list(Step.objects.exclude(planned_downtime="").only("pk", "planned_downtime"))
    for step in steps:
        step.planned_downtime_max_minutes = downtime_or_none(step.planned_downtime)
    Step.objects.bulk_update(steps, ["planned_downtime_max_minutes"], batch_size=1000)
    # A header downtime the old parser refused ("возможное время до 40 мин") could only come from the admin.
    plans = list(
        Plan.objects.exclude(downtime_text="").filter(downtime_max_minutes__isnull=True).only("pk", "downtime_text")
    )
    for plan in plans:
        plan.downtime_max_minutes = downtime_or_none(plan.downtime_text)
    Plan.objects.bulk_update(plans, ["downtime_max_minutes"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("changeplans", "0008_banner"),
    ]

    operations = [
        migrations.AddField(
            model_name="plan",
            name="stated_duration_minutes",
            field=models.PositiveIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="plan",
            name="stated_duration_text",
            field=models.CharField(blank=True, max_length=100, verbose_name="total duration of the work"),
        ),
        migrations.AddField(
            model_name="step",
            name="planned_downtime_max_minutes",
            field=models.PositiveIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(read_downtimes, migrations.RunPython.noop, elidable=True),
    ]
