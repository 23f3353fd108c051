"""On PostgreSQL, triggers refuse changes to published template versions and their items.

The models refuse too; the triggers make sure that no code path (raw SQL, a bulk update, a
later migration) changes what existing checklists were created from.
"""

from django.db import migrations

REFUSE = (
    "RAISE EXCEPTION 'template version % is published or retired: it never changes; make a new draft', {vid} "
    "USING ERRCODE = 'integrity_constraint_violation'"
)

IS_DRAFT = """
CREATE OR REPLACE FUNCTION checklists_version_is_draft(vid bigint) RETURNS boolean AS $$
    SELECT COALESCE((SELECT status = 'draft' FROM checklists_templateversion WHERE id = vid), true);
$$ LANGUAGE sql STABLE;
"""

# Items, their conditions and their dependencies: refused unless the version is a draft.
# `{version_of}` turns a row (OLD or NEW) into its version id.
ROW_GUARD = """
CREATE OR REPLACE FUNCTION {table}_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND NOT checklists_version_is_draft({old_version}) THEN
        {refuse_old};
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NOT checklists_version_is_draft({new_version}) THEN
        {refuse_new};
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER {table}_published_never_changes BEFORE INSERT OR UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_guard();
"""

GUARDED = {
    "checklists_templateitem": "{row}.version_id",
    "checklists_itemcondition": "(SELECT version_id FROM checklists_templateitem WHERE id = {row}.item_id)",
    "checklists_templateitem_depends_on": (
        "(SELECT version_id FROM checklists_templateitem WHERE id = {row}.from_templateitem_id)"
    ),
}

# A version itself: a draft changes freely; a published one may only be retired.
VERSION_GUARD = f"""
CREATE OR REPLACE FUNCTION checklists_templateversion_guard() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'draft' THEN
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
    {REFUSE.format(vid="OLD.id")};
END $$ LANGUAGE plpgsql;
CREATE TRIGGER checklists_templateversion_published_never_changes BEFORE UPDATE OR DELETE
    ON checklists_templateversion FOR EACH ROW EXECUTE FUNCTION checklists_templateversion_guard();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite (make run): the models' own checks stand alone
    schema_editor.execute(IS_DRAFT, params=None)
    for table, version_of in GUARDED.items():
        old, new = version_of.format(row="OLD"), version_of.format(row="NEW")
        schema_editor.execute(
            ROW_GUARD.format(
                table=table,
                old_version=old,
                new_version=new,
                refuse_old=REFUSE.format(vid=old),
                refuse_new=REFUSE.format(vid=new),
            ),
            params=None,  # the messages hold % placeholders of PL/pgSQL, not of the driver
        )
    schema_editor.execute(VERSION_GUARD, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in [*GUARDED, "checklists_templateversion"]:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_published_never_changes ON {table}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {table}_guard()")


class Migration(migrations.Migration):
    dependencies = [("checklists", "0001_initial")]
    operations = [migrations.RunPython(install, uninstall)]
