"""The audit log's keyed hash chain: sealed after the fact, checked against checkpoints kept outside the database.

Rows reach `accounts_auditevent` without any hash, so that no request waits for another to write
its rows (the chain used to be hashed on insert, under one lock held until commit). The database
stamps each row with the id of the transaction that wrote it (trigger `audit_stamp`).

`audit_seal()` runs every few seconds (Celery beat, AUDIT_SEAL_SECONDS):
- each committed row not sealed yet gets the next position, in id order, and
  `hash = HMAC-SHA256(key, previous hash | the row's content)` in `AuditSeal`. A row of a
  transaction still running is not visible yet: it is sealed by a later pass. The key is
  AUDIT_SEAL_KEY (the environment or a file), never in the database nor in a statement;
- the pass records its horizon, the oldest transaction then running (`pg_snapshot_xmin`): every
  row of a transaction below it is sealed, so the next pass looks only at rows at or above it,
  and `audit_verify` reports a row below it without a seal as slipped in;
- once committed, a checkpoint of the chain's head (position, row id, hash, time), signed with the
  key, is appended to a file in AUDIT_CHECKPOINT_DIR, which the database's roles cannot write.

`audit_verify()` (`manage.py audit_verify`) walks the chain and reports the first row altered,
removed or slipped in, and a chain shorter than, or different from, the latest checkpoint: a
removed tail, an emptied table or a recomputed chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils.crypto import salted_hmac

from .db import ADVISORY_LOCKS
from .models import READ_ACTIONS, AuditEvent, AuditSeal, AuditSealRun, PatientChangeCount

logger = logging.getLogger(__name__)

# The hash the first position chains to.
GENESIS = "0" * 64
# Sealers take turns under this advisory lock (its number kept with the others', in accounts.db).
SEAL_LOCK = ADVISORY_LOCKS["audit seal"]
# What a row's hash covers: every column the log keeps.
SEALED_FIELDS = (
    "id",
    "at",
    "actor_id",
    "actor_username",
    "actor_role",
    "action",
    "object_type",
    "object_id",
    "patient_id",
    "ip",
    "user_agent",
    "outcome",
    "detail",
    "xid",
)
CHECKPOINT_FILE = "checkpoints.jsonl"


def seal_key() -> bytes:
    """AUDIT_SEAL_KEY, or one derived from SECRET_KEY where none is set (both from outside the database)."""
    if settings.AUDIT_SEAL_KEY:
        return settings.AUDIT_SEAL_KEY.encode()
    return salted_hmac("accounts.audit_seal", "chain key", algorithm="sha256").digest()


def _content(row: dict) -> bytes:
    values = {**row, "at": row["at"].astimezone(dt.UTC).isoformat()}
    return json.dumps(values, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False).encode()


def _link(key: bytes, previous: str, row: dict) -> str:
    return hmac.new(key, previous.encode() + b"|" + _content(row), hashlib.sha256).hexdigest()


def _below(horizon: int) -> Q:
    """Rows of the transactions below `horizon`; rows older than the stamp have none, and count as below."""
    return Q(xid__lt=horizon) | Q(xid__isnull=True)


def _postgresql() -> bool:
    return connections[AuditEvent.objects.db].vendor == "postgresql"


# --- sealing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SealPass:
    sealed: int
    position: int
    horizon: int


def audit_seal(*, chunk: int = 2000) -> SealPass | None:
    """Seal every committed row not sealed yet; None when another sealer is at it, or where the
    log has no triggers (SQLite)."""
    if not _postgresql():
        return None
    key = seal_key()
    with transaction.atomic(using=AuditEvent.objects.db):
        with connections[AuditEvent.objects.db].cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SEAL_LOCK])
            if not cursor.fetchone()[0]:
                return None
            # Taken before the rows are read: every row of a transaction below it is then visible.
            cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
            horizon = cursor.fetchone()[0]
        last = AuditSealRun.objects.order_by("-id").first()
        position, head = (last.position, last.head) if last else (0, GENESIS)
        unsealed = AuditEvent.objects.exclude(Exists(AuditSeal.objects.filter(event_id=OuterRef("pk"))))
        if last:
            horizon = max(horizon, last.horizon)
            unsealed = unsealed.filter(xid__gte=last.horizon)
        seals: list[AuditSeal] = []
        newest_id = None
        for row in unsealed.order_by("id").values(*SEALED_FIELDS).iterator(chunk):
            position += 1
            head = _link(key, head, row)
            seals.append(AuditSeal(position=position, event_id=row["id"], hash=head))
            newest_id = row["id"]
            if len(seals) == chunk:
                AuditSeal.objects.bulk_create(seals)
                seals = []
        AuditSeal.objects.bulk_create(seals)
        sealed = position - (last.position if last else 0)
        if not sealed:
            return SealPass(sealed=0, position=position, horizon=horizon)
        # The change rows of the transactions that the horizon passed: final, so counted once.
        passed = (
            _changes().filter(xid__gte=last.horizon, xid__lt=horizon) if last else _changes().filter(_below(horizon))
        )
        changes_below = (last.changes if last else 0) + passed.count()
        _count_by_patient(passed)
        run = AuditSealRun.objects.create(horizon=horizon, position=position, head=head, changes=changes_below)
    # Committed: now the checkpoint may name it.
    checkpoint_write(position=position, event_id=newest_id, head=head, at=run.at)
    return SealPass(sealed=sealed, position=position, horizon=horizon)


def _changes():
    return AuditEvent.objects.filter(outcome=AuditEvent.Outcome.SUCCESS).exclude(action__in=READ_ACTIONS)


def _count_by_patient(passed) -> None:
    """Add the change rows that this pass's horizon passed to their patients' counts (0: no
    patient), in the pass's transaction: a reader sees the counts and the horizon move together."""
    by_patient = passed.values_list(Coalesce("patient_id", 0)).annotate(rows=Count("id")).order_by()
    sql, params = by_patient.query.sql_with_params()
    with connections[AuditEvent.objects.db].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {PatientChangeCount._meta.db_table} (patient_id, changes) {sql} "
            "ON CONFLICT (patient_id) DO UPDATE SET changes = "
            f"{PatientChangeCount._meta.db_table}.changes + EXCLUDED.changes",
            params,
        )


# --- checkpoints outside the database --------------------------------------------------------------


def _signature(key: bytes, record: dict) -> str:
    signed = {k: v for k, v in record.items() if k != "signature"}
    return hmac.new(key, json.dumps(signed, sort_keys=True).encode(), hashlib.sha256).hexdigest()


def checkpoint_path() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_DIR) / CHECKPOINT_FILE


def checkpoint_write(*, position: int, event_id: int | None, head: str, at: dt.datetime) -> None:
    """Append a signed checkpoint of the chain's head to the file (flushed to disk).

    A failure to write is logged, never raised: the rows are sealed all the same, and the next
    pass writes a checkpoint of its own.
    """
    record = {"position": position, "event_id": event_id, "head": head, "at": at.astimezone(dt.UTC).isoformat()}
    record["signature"] = _signature(seal_key(), record)
    path = checkpoint_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(record, sort_keys=True) + "\n")
            file.flush()
            os.fsync(file.fileno())
    except OSError:
        logger.exception("Could not write the audit checkpoint to %s", path)


@dataclass(frozen=True)
class Checkpoint:
    position: int
    head: str
    at: str
    line: int


def checkpoint_latest() -> tuple[Checkpoint | None, str | None]:
    """The newest checkpoint in the file, and the problem with the file if a line is not ours."""
    path = checkpoint_path()
    if not path.exists():
        return None, None
    key, latest = seal_key(), None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            record = json.loads(line)
            genuine = hmac.compare_digest(record["signature"], _signature(key, record))
        except (ValueError, KeyError, TypeError):
            genuine = False
        if not genuine:
            return latest, f"line {number} of {path} is not a checkpoint signed with the audit key: it was altered"
        latest = Checkpoint(position=record["position"], head=record["head"], at=record["at"], line=number)
    return latest, None


# --- verifying ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    checked: int  # sealed rows found intact, in chain order, before any problem
    problem: str | None  # the first problem, in words; None when the log is intact
    row_id: int | None  # the audit row it is about, when it is about one
    pending: int  # rows written since the last pass (or by transactions still running): not sealed yet
    checkpoint: Checkpoint | None


def audit_verify(*, chunk: int = 5000) -> Verification:
    """Walk the chain in position order against the rows, then against the latest checkpoint."""
    if not _postgresql():
        raise NotImplementedError("The audit chain is kept on PostgreSQL only.")
    key = seal_key()
    checkpoint, checkpoint_problem = checkpoint_latest()
    last = AuditSealRun.objects.order_by("-id").first()
    unsealed = AuditEvent.objects.exclude(Exists(AuditSeal.objects.filter(event_id=OuterRef("pk"))))
    pending = (unsealed.filter(xid__gte=last.horizon) if last else unsealed).count()

    def result(checked, problem=None, row_id=None):
        return Verification(checked, problem, row_id, pending, checkpoint)

    previous, checked, at_checkpoint = GENESIS, 0, None
    seals = AuditSeal.objects.order_by("position")
    while batch := list(seals.filter(position__gt=checked)[:chunk]):
        rows = {
            row["id"]: row
            for row in AuditEvent.objects.filter(pk__in=[s.event_id for s in batch]).values(*SEALED_FIELDS)
        }
        for seal in batch:
            if seal.position != checked + 1:
                return result(checked, f"seal #{checked + 1} is missing: the chain was cut")
            row = rows.get(seal.event_id)
            if row is None:
                return result(checked, f"it was removed (seal #{seal.position} names it)", seal.event_id)
            if not hmac.compare_digest(seal.hash, _link(key, previous, row)):
                return result(checked, "its content no longer matches its seal: it was altered", seal.event_id)
            previous, checked = seal.hash, checked + 1
            if checkpoint and checked == checkpoint.position:
                at_checkpoint = seal.hash
    if last and (last.position != checked or last.head != previous):
        return result(checked, f"the chain ends at #{checked}, but the last sealing pass ended at #{last.position}")
    if checkpoint_problem:
        return result(checked, checkpoint_problem)
    if checkpoint and checked < checkpoint.position:
        return result(
            checked,
            f"the checkpoint of {checkpoint.at} counted {checkpoint.position} sealed rows and the log now holds "
            f"{checked}: rows were removed from its end (or the table was emptied)",
        )
    if checkpoint and at_checkpoint != checkpoint.head:
        return result(checked, f"the chain differs from the checkpoint of {checkpoint.at}: it was recomputed")
    if last:
        slipped = (
            AuditEvent.objects.filter(_below(last.horizon))
            .exclude(pk__in=AuditSeal.objects.values("event_id"))
            .order_by("id")
            .first()
        )
        if slipped:
            return result(checked, "it was slipped in: written by an ended transaction, yet never sealed", slipped.pk)
    return result(checked)
