"""A template's first version installed from the starter library is a step of its history, by the
admin who loaded it or, when nobody was named, by the system (no actor). The versions that an
earlier loader installed get their step now, from when and by whom they were published."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

LOAD_SUMMARY = "Starter library"  # checklists.starter.LOAD_SUMMARY, as the loader wrote it


def record_earlier_installations(apps, schema_editor):
    TemplateVersion = apps.get_model("checklists", "TemplateVersion")
    TemplateReview = apps.get_model("checklists", "TemplateReview")
    installed = TemplateVersion.objects.filter(
        number=1, change_summary=LOAD_SUMMARY, published_at__isnull=False, reviews__isnull=True
    )
    TemplateReview.objects.bulk_create(
        TemplateReview(version=version, step="installed", actor_id=version.published_by_id, at=version.published_at)
        for version in installed
    )


class Migration(migrations.Migration):
    dependencies = [
        ("checklists", "0014_condition_operators_in_words"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="templatereview",
            name="actor",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="templatereview",
            name="step",
            field=models.CharField(
                choices=[
                    ("submitted", "Submitted for review"),
                    ("returned", "Returned with comments"),
                    ("approved", "Approved and published"),
                    ("emergency", "Published without review (emergency)"),
                    ("reviewed_after", "Emergency publication reviewed"),
                    ("installed", "Installed from the starter library (published without review)"),
                ],
                max_length=20,
            ),
        ),
        # The history is append-only: a step once recorded stays (going back leaves it).
        migrations.RunPython(record_earlier_installations, migrations.RunPython.noop),
    ]
