import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("patients", "0005_map_courses_to_regimens")]
    operations = [
        migrations.AlterField(
            model_name="treatmentcourse",
            name="regimen_version",
            field=models.ForeignKey(
                help_text="The regimen version the course was planned with; later versions never change it.",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="courses",
                to="patients.regimenversion",
            ),
        ),
    ]
