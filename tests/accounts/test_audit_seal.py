"""The audit log's keyed chain: sealed after the fact, without a lock on the request path, and
checked against checkpoints kept outside the database (accounts.audit_seal)."""

import hashlib
import json
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.db.models import Q

from accounts.audit import audit_record, change_version
from accounts.audit_seal import audit_seal, audit_verify, checkpoint_path, seal_key
from accounts.models import READ_ACTIONS, AuditEvent, AuditSeal, AuditSealRun, PatientChangeCount

from ..database_helpers import as_database_owner
from ..database_roles import APPLICATION, PASSWORD

Action = AuditEvent.Action


@pytest.fixture
def checkpoints(settings, tmp_path):
    """This test's own checkpoint file."""
    settings.AUDIT_CHECKPOINT_DIR = tmp_path
    return tmp_path


def write_rows(count: int) -> list[int]:
    return [audit_record(action=Action.VIEW, object_type="patients.patient", object_id=n).pk for n in range(count)]


def verify_fails(match: str) -> None:
    with pytest.raises(CommandError, match=match):
        call_command("audit_verify")


def test_a_sealed_log_verifies_intact_against_its_checkpoint(db, checkpoints, capsys):
    write_rows(5)
    sealed = audit_seal()
    assert sealed.sealed == AuditEvent.objects.count() == AuditSeal.objects.count()
    assert audit_seal().sealed == 0  # nothing is sealed twice
    call_command("audit_verify")
    out = capsys.readouterr().out
    assert f"Audit log intact: {sealed.position} rows verified" in out
    assert f"(#{sealed.position}) matches" in out
    assert "0 rows written since the last sealing pass" in out


def test_a_row_written_after_the_pass_waits_for_the_next_one(db, checkpoints):
    write_rows(2)
    audit_seal()
    write_rows(3)
    assert audit_verify().pending == 3 and audit_verify().problem is None
    assert audit_seal().sealed == 3
    assert audit_verify().pending == 0


def test_writing_an_audit_row_takes_no_lock_that_others_wait_for(db):
    """The chain used to be hashed on insert under one advisory lock, held until commit."""
    with transaction.atomic():
        write_rows(1)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
            assert cursor.fetchone()[0] == 0


@pytest.mark.django_db(transaction=True)
def test_rows_written_from_many_connections_while_sealing_are_each_sealed_once(checkpoints):
    def write():
        try:
            for _ in range(20):
                with transaction.atomic():
                    write_rows(1)
        finally:
            connections.close_all()

    def seal_until(done: threading.Event):
        try:
            while not done.is_set():
                audit_seal()
        finally:
            connections.close_all()

    done = threading.Event()
    sealer = threading.Thread(target=seal_until, args=(done,))
    writers = [threading.Thread(target=write) for _ in range(4)]
    sealer.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    sealer.join()
    audit_seal()
    assert AuditSeal.objects.count() == AuditEvent.objects.count()
    found = audit_verify()
    assert (found.problem, found.checked) == (None, AuditEvent.objects.count())


# --- tampering, with the owner's rights (committed, so transactional tests) -------------------------


@pytest.fixture
def sealed_rows(transactional_db, checkpoints) -> list[int]:
    ids = write_rows(6)
    audit_seal()
    return ids


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ("UPDATE accounts_auditevent SET actor_username = 'someone else' WHERE id = {row}", "it was altered"),
        ("DELETE FROM accounts_auditevent WHERE id = {row}", "it was removed"),
    ],
)
def test_verify_names_a_row_altered_or_removed(sealed_rows, statement, reason):
    as_database_owner(statement.format(row=sealed_rows[2]))
    verify_fails(rf"row {sealed_rows[2]} fails verification: .*{reason}")


def _recompute_chain(key: bytes) -> list[str]:
    """The seals rewritten over the rows as they are now, as `audit_seal` would with `key`."""
    from accounts.audit_seal import GENESIS, SEALED_FIELDS, _link

    previous, statements = GENESIS, []
    for seal in AuditSeal.objects.order_by("position"):
        previous = _link(key, previous, AuditEvent.objects.values(*SEALED_FIELDS).get(pk=seal.event_id))
        statements.append(f"UPDATE accounts_auditseal SET hash = '{previous}' WHERE position = {seal.position}")
    statements.append(f"UPDATE accounts_auditsealrun SET head = '{previous}'")
    return statements


def test_verify_finds_a_chain_recomputed_without_the_key(sealed_rows):
    as_database_owner(f"UPDATE accounts_auditevent SET actor_username = 'someone else' WHERE id = {sealed_rows[2]}")
    guessed_key = hashlib.sha256(b"what the database owner might try").digest()
    as_database_owner(*_recompute_chain(guessed_key))
    verify_fails("fails verification: its content no longer matches its seal")


def test_verify_finds_a_chain_recomputed_even_with_the_key_from_the_checkpoint(sealed_rows):
    as_database_owner(f"UPDATE accounts_auditevent SET actor_username = 'someone else' WHERE id = {sealed_rows[2]}")
    as_database_owner(*_recompute_chain(seal_key()))
    verify_fails("the chain differs from the checkpoint of .*: it was recomputed")


def test_verify_finds_a_removed_tail(sealed_rows):
    tail = ", ".join(map(str, sealed_rows[-3:]))
    as_database_owner(
        f"DELETE FROM accounts_auditevent WHERE id IN ({tail})",
        f"DELETE FROM accounts_auditseal WHERE event_id IN ({tail})",
        "DELETE FROM accounts_auditsealrun",
    )
    verify_fails(r"counted \d+ sealed rows and the log now holds \d+: rows were removed from its end")


def test_verify_finds_an_emptied_log(sealed_rows):
    as_database_owner("TRUNCATE accounts_auditevent, accounts_auditseal, accounts_auditsealrun")
    verify_fails(r"counted \d+ sealed rows and the log now holds 0")


def test_verify_finds_a_row_slipped_in_below_the_horizon(sealed_rows):
    as_database_owner(
        "INSERT INTO accounts_auditevent (at, actor_username, actor_role, action, object_type, object_id, "
        "user_agent, outcome, detail, xid) VALUES (now(), 'ghost', '', 'view', 'patients.patient', '1', '', "
        "'success', '{}', 1)"
    )
    ghost = AuditEvent.objects.get(actor_username="ghost").pk
    verify_fails(rf"row {ghost} fails verification: it was slipped in")


def test_verify_finds_an_altered_checkpoint(sealed_rows):
    path = checkpoint_path()
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "position": 2}) + "\n")
    verify_fails("line 1 of .* is not a checkpoint signed with the audit key")


# --- the version of the record, for the page cache ----------------------------------------------


def _application_connection():
    import psycopg

    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or None, port=db["PORT"] or None, user=APPLICATION, password=PASSWORD, dbname=db["NAME"]
    )


INSERT_CHANGE = (
    "INSERT INTO accounts_auditevent (at, actor_username, actor_role, action, object_type, object_id, "
    "user_agent, outcome, detail) VALUES (now(), '', '', 'update', 'patients_patient', '1', '', 'success', '{}') "
    "RETURNING id"
)


@pytest.mark.django_db(transaction=True)
def test_the_version_moves_on_when_a_change_commits_under_a_smaller_id_than_one_already_seen(checkpoints):
    """Ids are drawn before commit: the slower transaction's change lands under an older id."""
    with _application_connection() as slow, _application_connection() as fast:
        (older,) = slow.execute(INSERT_CHANGE).fetchone()
        (newer,) = fast.execute(INSERT_CHANGE).fetchone()
        fast.commit()
        seen = change_version()
        audit_seal()  # a pass in between changes nothing
        assert change_version() == seen
        slow.commit()
    assert older < newer
    assert change_version() == seen + 1
    audit_seal()
    # Counted once, sealed or not, whether or not the horizon has passed it (a transaction
    # running anywhere in the cluster, another test's, holds the horizon back).
    assert change_version() == seen + 1


@pytest.mark.django_db(transaction=True)
def test_the_sealer_counts_the_changes_it_passes_by_patient_and_a_reader_counts_each_once(checkpoints):
    """The scoped version is the sealer's count by patient below its horizon plus the change rows
    at or above it: the same before and after any pass, and it moves with each new change."""

    def change(patient_id):
        audit_record(
            action=AuditEvent.Action.UPDATE, object_type="patients.patient", object_id=patient_id, patient_id=patient_id
        )

    for patient_id in (11, 11, 12):
        change(patient_id)
    audit_record(action=AuditEvent.Action.VIEW, object_type="patients.patient", object_id=11, patient_id=11)
    scopes = ((11,), (12,), (11, 12))
    seen = {scope: change_version(scope) for scope in scopes}
    audit_seal()
    assert {scope: change_version(scope) for scope in scopes} == seen
    changes = AuditEvent.objects.filter(outcome="success").exclude(action__in=READ_ACTIONS)
    last = AuditSealRun.objects.order_by("-id").first()
    for patient_id in (11, 12):
        below = changes.filter(Q(xid__lt=last.horizon) | Q(xid__isnull=True), patient_id=patient_id).count()
        counted = PatientChangeCount.objects.filter(patient_id=patient_id).values_list("changes", flat=True).first()
        assert (counted or 0) == below
    change(12)
    assert change_version((11,)) == seen[(11,)]
    assert change_version((12,)) == seen[(12,)] + 1
    assert change_version((11, 12)) == seen[(11, 12)] + 1
    audit_seal()
    assert change_version((11, 12)) == seen[(11, 12)] + 1


@pytest.mark.django_db
def test_a_scoped_version_adds_the_sealed_counts_of_its_own_patients_only():
    """The sealer's counts by patient, read for the scope's patients (and for no patient, 0) and
    for no other: checked on counts written here, as a pass of the sealer may not reach this
    test's rows while other transactions run in the cluster."""
    PatientChangeCount.objects.bulk_create(
        PatientChangeCount(patient_id=patient_id, changes=changes)
        for patient_id, changes in ((0, 1000), (11, 100), (12, 10), (13, 1))
    )
    unscoped = change_version(())
    assert change_version((11,)) - unscoped == 100
    assert change_version((12,)) - unscoped == 10
    assert change_version((11, 12)) - unscoped == 110
    assert change_version((14,)) == unscoped
