"""Helpers shared by the worklist's page tests."""

from accounts.models import AuditEvent


def read_logged(client, url: str, **headers) -> tuple[str, dict]:
    """Open `url` and return the one read that it logged: (its object type, its detail)."""
    before = AuditEvent.objects.filter(action="view").count()
    assert client.get(url, **headers).status_code == 200
    (row,) = AuditEvent.objects.filter(action="view").order_by("id")[before:]
    return row.object_type, row.detail
