# The operators in words ("is less than" for "<"): only the labels change, nothing in the database.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("checklists", "0013_review_status_in_version_guard"),
    ]

    operations = [
        migrations.AlterField(
            model_name="itemcondition",
            name="operator",
            field=models.CharField(
                choices=[
                    ("eq", "is"),
                    ("ne", "is not"),
                    ("lt", "is less than"),
                    ("le", "is at most"),
                    ("gt", "is more than"),
                    ("ge", "is at least"),
                    ("in", "is one of"),
                ],
                max_length=4,
            ),
        ),
        migrations.AlterField(
            model_name="templatecondition",
            name="operator",
            field=models.CharField(
                choices=[
                    ("eq", "is"),
                    ("ne", "is not"),
                    ("lt", "is less than"),
                    ("le", "is at most"),
                    ("gt", "is more than"),
                    ("ge", "is at least"),
                    ("in", "is one of"),
                ],
                max_length=4,
            ),
        ),
    ]
