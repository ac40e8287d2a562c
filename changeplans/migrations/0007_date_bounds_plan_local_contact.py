"""Issue 11: dates bounded to 2000–2100 (validators and check constraints), the responsible's contact kept per plan.

The check constraints are added NOT VALID on PostgreSQL: new writes are checked, rows stored before
(a year-1-BC window) do not block the migration; `manage.py check_plan_dates` lists and repairs them.
"""

import django.core.validators
from django.db import migrations, models

import changeplans.limits


def copy_contacts(apps, schema_editor):
    # Each plan keeps the contact its responsible had when this migration ran.
    Plan = apps.get_model("changeplans", "Plan")
    for plan in Plan.objects.filter(responsible__isnull=False).exclude(responsible__contact="").select_related("responsible").only("pk", "responsible__contact"):
        Plan.objects.filter(pk=plan.pk).update(responsible_contact=plan.responsible.contact)


class AddConstraintNotValid(migrations.AddConstraint):
    """AddConstraint that leaves existing rows unchecked on PostgreSQL (NOT VALID); plain elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.execute(str(self.constraint.create_sql(model, schema_editor)) + " NOT VALID")


def dated(name, **kwargs):
    return models.DateTimeField(name, validators=[changeplans.limits.validate_date_in_range], **kwargs)


class Migration(migrations.Migration):

    dependencies = [
        ("changeplans", "0006_event_alert"),
    ]

    operations = [
        migrations.AddField(
            model_name="plan",
            name="responsible_contact",
            field=models.CharField(blank=True, max_length=200, verbose_name="contact of the responsible"),
        ),
        migrations.RunPython(copy_contacts, migrations.RunPython.noop),
        migrations.AlterField(model_name="plan", name="window_start", field=dated("window start")),
        migrations.AlterField(model_name="plan", name="window_end", field=dated("window end")),
        migrations.AlterField(model_name="plan", name="started_at", field=dated("started at", null=True, blank=True)),
        migrations.AlterField(model_name="plan", name="finished_at", field=dated("finished at", null=True, blank=True)),
        migrations.AlterField(model_name="plan", name="rollback_started_at", field=dated("rollback started at", null=True, blank=True)),
        migrations.AlterField(model_name="step", name="actual_start", field=dated("actual start", null=True, blank=True)),
        migrations.AlterField(model_name="step", name="actual_end", field=dated("actual finish", null=True, blank=True)),
        migrations.AlterField(model_name="rollbackaction", name="actual_start", field=dated("actual start", null=True, blank=True)),
        migrations.AlterField(model_name="rollbackaction", name="actual_end", field=dated("actual finish", null=True, blank=True)),
        migrations.AlterField(
            model_name="step",
            name="planned_date",
            field=models.DateField(blank=True, null=True, validators=[changeplans.limits.validate_date_in_range], verbose_name="start date"),
        ),
        migrations.AlterField(
            model_name="risk",
            name="number",
            field=models.PositiveIntegerField(validators=[django.core.validators.MaxValueValidator(9999)], verbose_name="No."),
        ),
        AddConstraintNotValid(
            model_name="plan",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("window_start__gte", changeplans.limits.DB_MIN_DATETIME), ("window_start__lt", changeplans.limits.DB_MAX_DATETIME),
                    ("window_end__gte", changeplans.limits.DB_MIN_DATETIME), ("window_end__lt", changeplans.limits.DB_MAX_DATETIME),
                ),
                name="plan_window_in_range",
                violation_error_message="Enter a date between 01.01.2000 and 31.12.2100.",
            ),
        ),
        AddConstraintNotValid(
            model_name="step",
            constraint=models.CheckConstraint(
                condition=models.Q(("planned_date__isnull", True), models.Q(("planned_date__gte", changeplans.limits.DB_MIN_DATETIME.date()), ("planned_date__lte", changeplans.limits.DB_MAX_DATETIME.date())), _connector="OR"),
                name="step_planned_date_in_range",
                violation_error_message="Enter a date between 01.01.2000 and 31.12.2100.",
            ),
        ),
    ]
