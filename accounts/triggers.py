"""The audit log's PostgreSQL triggers, declared on models with django-pgtrigger.

Kept apart from `accounts.audit` because models import them (no import of models here).
See `accounts.audit` for how the pieces fit.
"""

import pgtrigger
from pgtrigger import compiler


class AlwaysOnTriggerSql(compiler.UpsertTriggerSql):
    """pgtrigger's install SQL without its `pgtrigger.ignore` check.

    pgtrigger lets any session skip a trigger with `SET pgtrigger.ignore = '…'`: whoever may write
    the table could then change data unlogged, or rewrite the log. These triggers run whatever the
    session says; only the tables' owner (the migrations' role) can drop or disable them.
    """

    def get_template(self) -> str:
        return """
            CREATE OR REPLACE FUNCTION {pgid}()
            RETURNS TRIGGER AS $$
                {declare}
                BEGIN
                    {func}
                END;
            $$ LANGUAGE plpgsql;

            DROP TRIGGER IF EXISTS {pgid} ON {table};
            CREATE {constraint} TRIGGER {pgid}
                {when} {operation} ON {table}
                {timing}
                {referencing}
                FOR EACH {level} {condition}
                EXECUTE PROCEDURE {execute};

            COMMENT ON TRIGGER {pgid} ON {table} IS '{hash}';
        """


class AlwaysOn(pgtrigger.Trigger):
    """A pgtrigger trigger that no session setting switches off (see AlwaysOnTriggerSql)."""

    def compile(self, model) -> compiler.Trigger:
        compiled = super().compile(model)
        return compiler.Trigger(name=self.name, sql=AlwaysOnTriggerSql(**compiled.sql.kwargs))


class AppendOnly(AlwaysOn, pgtrigger.Protect):
    """Refuses UPDATE and DELETE of the table's rows, whatever the session says."""


# Domain actions a change trigger writes itself (the others come from the audit context).
PERMISSION_CHANGE = "permission_change"

# Every audit row names the transaction that wrote it, whatever the insert said: the sealer
# (accounts.audit_seal) seals, in order, the rows of the transactions that can add no more.
STAMP_FUNC = """
    NEW.xid := pg_current_xact_id()::text::bigint;
    RETURN NEW;
"""

AUDIT_LOG_TRIGGERS = [
    AlwaysOn(name="audit_stamp", when=pgtrigger.Before, operation=pgtrigger.Insert, func=STAMP_FUNC),
    AppendOnly(name="audit_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
]

# The seals and their runs are append-only too.
SEAL_TRIGGERS = [AppendOnly(name="seal_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

# The columns that make a change to a user a change of what they may do.
PERMISSION_COLUMNS = ("role", "unit_id", "is_staff", "is_superuser", "is_active")


def change_trigger(*, patient: str | None, ignore: tuple[str, ...] = (), permissions: bool = False):
    """A trigger that logs every insert, update and delete of a model's rows.

    `patient` is SQL giving the patient's id from `row` (the changed row as jsonb), or None
    for records that belong to no patient. `ignore` lists columns whose changes alone are not
    worth a row (a user's last login) and which are never copied into the log (a password hash).
    With `permissions`, a change to one of PERMISSION_COLUMNS is logged as a permission change.
    """
    ignored = "ARRAY[" + ", ".join(f"'{column}'" for column in ignore) + "]::text[]"
    permission_check = (
        f"IF TG_OP = 'UPDATE' AND changes ?| ARRAY[{', '.join(repr(c) for c in PERMISSION_COLUMNS)}] THEN "
        f"action := '{PERMISSION_CHANGE}'; END IF;"
        if permissions
        else ""
    )
    func = f"""
DECLARE
    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;
    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;
    row jsonb := COALESCE(new_row, old_row);
    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{{}}'::jsonb);
    changes jsonb;
    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'
                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);
BEGIN
    IF TG_OP = 'UPDATE' THEN
        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes
        FROM jsonb_each(new_row) AS n
        WHERE n.key <> ALL ({ignored}) AND (old_row -> n.key) IS DISTINCT FROM n.value;
        IF changes IS NULL THEN
            RETURN NULL;
        END IF;
    ELSE
        changes := row - {ignored};
    END IF;
    {permission_check}
    INSERT INTO accounts_auditevent
        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,
         ip, user_agent, outcome, detail)
    VALUES
        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),
         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', {patient or "NULL"},
         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',
         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));
    RETURN NULL;
END;
"""
    return AlwaysOn(
        name="audit_changes",
        when=pgtrigger.After,
        operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
        func=func,
    )


# Patient-id expressions for `change_trigger`, by where the row keeps its patient.
PATIENT_IS_ROW = "(row ->> 'id')::bigint"
PATIENT_COLUMN = "(row ->> 'patient_id')::bigint"


def patient_via(table: str, column: str) -> str:
    """The patient of a row that points at a parent row holding `patient_id`."""
    return f"(SELECT patient_id FROM {table} WHERE id = (row ->> '{column}')::bigint)"
