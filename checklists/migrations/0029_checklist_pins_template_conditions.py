"""A checklist pins its template's own conditions when it is made, as it pins the items by their
version: a change of a template's conditions applies to the checklists made from then on.

The existing checklists of a template that has conditions get the template's conditions as they
stand: the only record of them there is (changes of them kept no earlier ones). Templates without
conditions, most of them, leave their checklists as the default says: none."""

from django.db import migrations, models


def pin_the_conditions_of_today(apps, schema_editor):
    Checklist = apps.get_model("checklists", "Checklist")
    TemplateCondition = apps.get_model("checklists", "TemplateCondition")
    pinned: dict[int, list[list[str]]] = {}
    for condition in TemplateCondition.objects.order_by("pk"):
        pinned.setdefault(condition.template_id, []).append([condition.fact, condition.operator, condition.value])
    for template_id, conditions in pinned.items():
        Checklist.objects.filter(template_id=template_id).update(template_conditions=conditions)


class Migration(migrations.Migration):
    dependencies = [
        ("checklists", "0028_condition_fact_next_cycle"),
    ]

    operations = [
        migrations.AddField(
            model_name="checklist",
            name="template_conditions",
            field=models.JSONField(blank=True, default=list, editable=False),
        ),
        migrations.RunPython(pin_the_conditions_of_today, migrations.RunPython.noop),
    ]
