"""The version guard (0002) lets a version in review change too: it is returned to draft or
published, as a draft is. Its items stay guarded: `checklists_version_is_draft` is unchanged,
so nothing edits what the reviewer reads."""

from django.db import migrations

REFUSE = (
    "RAISE EXCEPTION 'template version % is published or retired: it never changes; make a new draft', OLD.id "
    "USING ERRCODE = 'integrity_constraint_violation'"
)


def guard(unpublished: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION checklists_templateversion_guard() RETURNS trigger AS $$
BEGIN
    IF OLD.status IN ({unpublished}) THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.status = 'published' AND NEW.status = 'retired'
       AND (NEW.template_id, NEW.number, NEW.change_summary, NEW.created_at, NEW.published_by_id, NEW.published_at)
           IS NOT DISTINCT FROM
           (OLD.template_id, OLD.number, OLD.change_summary, OLD.created_at, OLD.published_by_id, OLD.published_at)
    THEN
        RETURN NEW;
    END IF;
    {REFUSE};
END $$ LANGUAGE plpgsql;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(guard("'draft', 'in_review'"), params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(guard("'draft'"), params=None)


class Migration(migrations.Migration):
    dependencies = [("checklists", "0012_template_governance")]

    operations = [migrations.RunPython(install, uninstall)]
