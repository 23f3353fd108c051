"""Weights are kept to 10 g (two decimals), as infant scales read: a weight typed 5.36 was rounded
to 5.4 kg, across the 5.4 kg limit of the preservative bags. Existing weights (tenths) are kept as
they are; widening the column changes none."""

from decimal import Decimal

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0028_course_status_follows_its_events"),
    ]

    operations = [
        migrations.AlterField(
            model_name="patient",
            name="weight_kg",
            field=models.DecimalField(
                decimal_places=2,
                max_digits=5,
                validators=[
                    django.core.validators.MinValueValidator(Decimal("0.5"), "Weight must be more than 0 kg."),
                    django.core.validators.MaxValueValidator(Decimal("300"), "Weight must be at most 300 kg."),
                ],
                verbose_name="weight (kg)",
            ),
        ),
        migrations.AlterField(
            model_name="weighing",
            name="weight_kg",
            field=models.DecimalField(
                decimal_places=2,
                max_digits=5,
                validators=[
                    django.core.validators.MinValueValidator(Decimal("0.5"), "Weight must be more than 0 kg."),
                    django.core.validators.MaxValueValidator(Decimal("300"), "Weight must be at most 300 kg."),
                ],
                verbose_name="weight (kg)",
            ),
        ),
    ]
