from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("changeplans", "0004_plan_announcement_from_plan_banner_text_and_more"),
    ]

    operations = [migrations.RenameModel("ScheduledNotification", "ScheduledAction")]
