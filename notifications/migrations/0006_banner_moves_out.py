"""The Banner model leaves notifications (which knows no domain model) for the domain app that owns services.

State only: the table and its rows stay. The domain app's migration that depends on this one takes
the model into its own state and renames the table.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0005_delivery_group_help"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="banner")]),
    ]
