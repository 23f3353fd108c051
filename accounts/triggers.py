"""The audit log's PostgreSQL triggers, declared on models with django-pgtrigger.

Kept apart from `accounts.audit` because models import them (no import of models here).
See `accounts.audit` for how the pieces fit.
"""

import pgtrigger

# Every row's hash chains to the previous one; the first row chains to this.
GENESIS = "0" * 64
# One advisory lock key for the chain, so that concurrent inserts hash in id order.
CHAIN_LOCK = 7_201_955
# Domain actions a change trigger writes itself (the others come from the audit context).
PERMISSION_CHANGE = "permission_change"


def row_hash_sql(row: str, prev: str) -> str:
    """SQL for a row's hash: SHA-256 over the previous hash and the row as canonical JSON.

    Used by the chain trigger (row = NEW) and by `audit_verify` (row = a table alias), so both
    hash exactly the same bytes. The time is spelled out in UTC, whatever the session zone.
    """
    payload = (
        f"((to_jsonb({row}) - 'hash' - 'prev_hash' - 'at') || jsonb_build_object('at', "
        f"to_char({row}.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')))::text"
    )
    return f"encode(sha256(convert_to({prev} || '|' || {payload}, 'UTF8')), 'hex')"


CHAIN_FUNC = f"""
DECLARE
    previous text;
BEGIN
    -- Held until commit: the next writer waits, then sees this row as the last one.
    PERFORM pg_advisory_xact_lock({CHAIN_LOCK});
    SELECT hash INTO previous FROM accounts_auditevent ORDER BY id DESC LIMIT 1;
    -- The id is drawn under the lock, so that id order is chain order.
    NEW.id := nextval(pg_get_serial_sequence('accounts_auditevent', 'id'));
    NEW.prev_hash := COALESCE(previous, '{GENESIS}');
    NEW.hash := {row_hash_sql("NEW", "NEW.prev_hash")};
    RETURN NEW;
END;
"""

AUDIT_LOG_TRIGGERS = [
    pgtrigger.Trigger(
        name="audit_chain",
        when=pgtrigger.Before,
        operation=pgtrigger.Insert,
        func=CHAIN_FUNC,
    ),
    pgtrigger.Protect(name="audit_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
]

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
         ip, user_agent, outcome, detail, prev_hash, hash)
    VALUES
        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),
         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', {patient or "NULL"},
         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',
         jsonb_build_object('operation', lower(TG_OP), 'changes', changes), '', '');
    RETURN NULL;
END;
"""
    return pgtrigger.Trigger(
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
