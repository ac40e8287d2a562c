"""ApprovalRow.waiting (approvals/waiting.py): the marker of rows asked now, filled for the rows there are."""

from django.db import migrations, models
from django.db.models import OuterRef, Q, Subquery


def fill(apps, schema_editor):
    # approvals.waiting.truth(), written out here: a migration keeps the rule as it was when it ran.
    ApprovalRow = apps.get_model("approvals", "ApprovalRow")
    rows = ApprovalRow.objects.using(schema_editor.connection.alias)
    open_stage = (
        ApprovalRow.objects.filter(plan=OuterRef("plan"), kind="approval")
        .exclude(status="approved")
        .order_by("stage")
        .values("stage")[:1]
    )
    waiting = Q(plan__status="in_review") & (
        Q(kind="approval", status="pending", stage=Subquery(open_stage))
        | Q(kind="acknowledgement", status="not_acknowledged")
    )
    rows.filter(pk__in=rows.filter(waiting).values("pk")).update(waiting=True)


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0002_matrixtemplate_approvalrow_decided_by_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="approvalrow",
            name="waiting",
            field=models.BooleanField(default=False, editable=False, verbose_name="waiting for a decision"),
        ),
        migrations.AddIndex(
            model_name="approvalrow",
            index=models.Index(
                condition=models.Q(("waiting", True)), fields=["user", "plan"], name="approval_row_waiting_user"
            ),
        ),
        migrations.AddIndex(
            model_name="approvalrow",
            index=models.Index(
                condition=models.Q(("waiting", True)), fields=["group", "plan"], name="approval_row_waiting_group"
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
