# The deployment gate's per-service policy for "no plan" (api/gate.py, docs/gate.md).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("changeplans", "0016_rows_token"),
    ]

    operations = [
        migrations.AddField(
            model_name="service",
            name="gate_without_plan",
            field=models.CharField(
                choices=[("block", "Block deployments"), ("allow", "Allow deployments")],
                default="block",
                help_text="What the deployment gate answers when no plan claims the time (docs/gate.md): a plan in review, approved or in progress always applies its own rules.",
                max_length=10,
                verbose_name="deployments without a plan",
            ),
        ),
    ]
