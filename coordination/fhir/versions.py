"""Every served resource's `meta`: `versionId` and `lastUpdated`, set here for every type at once.

The versionId is a hash of the resource's JSON as served (without its meta), not a time taken
from its rows: most rows keep no "updated at", a resource reads several rows (a CarePlan its
course, cycles and stop), and some of what it shows follows the calendar (a cycle's activity
turns in-progress at midnight without any row changing). A hash changes exactly when what the
client would see changes, so that an ETag built from it never answers 304 to a stale copy, and
it needs no state: a lost ledger below can only move lastUpdated, never make a wrong 304.

lastUpdated is when this server first served that content (coordination.fhir.models): the
ledger keeps the last version of each resource and since when; a new version starts it anew.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone
from django.utils.http import http_date

from . import resources as fhir
from .models import ServedVersion


def version_of(resource: dict) -> str:
    """The hash of the resource's content (its meta left out), in 16 hex digits (64 bits)."""
    content = {key: value for key, value in resource.items() if key != "meta"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _with_meta(resource: dict, version: str, since: dt.datetime) -> dict:
    head = {"resourceType": resource["resourceType"], "id": resource["id"]}
    meta = {"versionId": version, "lastUpdated": fhir.instant(since)}
    return {**head, "meta": meta, **{key: value for key, value in resource.items() if key not in head}}


def stamp(resources: list[dict], *, serve: Callable[[dict], dict] | None = None) -> list[dict]:
    """The resources with their meta. `serve` turns a resource as the record has it into what
    this reader is served (a grant reader's `$everything` cuts some references): the versionId is
    that of what is served; lastUpdated follows the record's resource, whoever reads it.

    At most four statements whatever the number of resources: read the ledger, add the new,
    lock and move the changed. Two readers at once may both record a change: the later time stays.
    """
    now = timezone.now()
    # In the resources' key order, for every reader: two readers recording the same new or changed
    # resources at once take their row locks in one order, and so wait for each other rather than
    # deadlock (a search and an $everything of one patient, say).
    keyed = dict(sorted((f"{item['resourceType']}/{item['id']}", item) for item in resources))
    versions = {key: version_of(item) for key, item in keyed.items()}
    known = {row.resource: row for row in ServedVersion.objects.filter(resource__in=list(keyed))}
    new = [ServedVersion(resource=key, version=v, served_since=now) for key, v in versions.items() if key not in known]
    changed = [row for key, row in known.items() if row.version != versions[key]]
    for row in changed:
        row.version, row.served_since = versions[row.resource], now
    with transaction.atomic():
        if new:
            ServedVersion.objects.bulk_create(new, ignore_conflicts=True)
        if changed:
            locked = ServedVersion.objects.select_for_update(no_key=True).filter(pk__in=[row.pk for row in changed])
            list(locked.order_by("resource"))
            ServedVersion.objects.bulk_update(changed, ["version", "served_since"])
    stamped = []
    for item in resources:
        key = f"{item['resourceType']}/{item['id']}"
        served = item if serve is None else serve(item)
        stamped.append(_with_meta(served, version_of(served), known[key].served_since if key in known else now))
    return stamped


def etag_of(resource: dict) -> str:
    """Weak, as FHIR asks (`W/"<versionId>"`): the same content, not the same bytes."""
    return f'W/"{resource["meta"]["versionId"]}"'


def last_modified_of(resource: dict) -> str:
    return http_date(dt.datetime.fromisoformat(resource["meta"]["lastUpdated"]).timestamp())
