"""Counting the statements a page runs, for the rule "list pages keep a constant number of
queries": a test draws a page with a few rows and with many and compares the two counts."""

from django.db import connection
from django.test.utils import CaptureQueriesContext


def queries_of(client, url: str, **headers) -> int:
    """The statements one GET of `url` runs. The caller has looked at a page once already (the
    first look of a session writes its activity) and stands the clock still (the sign-in
    middleware writes that activity again once a minute): what is left is the page's own work."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
        if response.streaming:  # a download reads its rows as it is sent
            b"".join(response.streaming_content)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured)
