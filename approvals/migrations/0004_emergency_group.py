"""The emergency approvers' group (docs/change-types.md): a member's approval lets an emergency change start early.

Named by settings.OKNO_EMERGENCY_GROUP when the migration runs; an administrator adds the members."""

from django.conf import settings
from django.db import migrations


def create_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).get_or_create(name=settings.OKNO_EMERGENCY_GROUP)


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0003_approvalrow_waiting"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_group, migrations.RunPython.noop)]
