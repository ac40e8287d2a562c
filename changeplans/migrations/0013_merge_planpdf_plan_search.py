# Merges the two migrations of issue 16 made side by side (PDFs: 0012_planpdf; search: 0012_plan_search).
# Shared by helpers 1 and 4 until the lead writes the final merge.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("changeplans", "0012_planpdf"),
        ("changeplans", "0012_plan_search"),
    ]

    operations = []
