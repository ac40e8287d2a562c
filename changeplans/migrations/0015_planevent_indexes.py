# A plan's history by (plan, time, id) and (plan, id): the page reads it newest first, a save the entries after
# one it knows. They replace the plain index on plan (a prefix of both).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("changeplans", "0014_lint_generation"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="planevent",
            index=models.Index(fields=["plan", "at", "id"], name="planevent_plan_at_id"),
        ),
        migrations.AddIndex(
            model_name="planevent",
            index=models.Index(fields=["plan", "id"], name="planevent_plan_id"),
        ),
        migrations.AlterField(
            model_name="planevent",
            name="plan",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="events",
                to="changeplans.plan",
            ),
        ),
    ]
