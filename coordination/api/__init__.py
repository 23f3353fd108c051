"""The REST API under /api/v1/ (issue 17): the same services, policy and read logging as the pages.

- `errors`: every refusal as RFC 9457 problem details;
- `parsers`: JSON bodies, with what DRF let through to a 500 refused;
- `pagination`: cursors;
- `serializers`: what a record looks like, and the bodies that actions take;
- `views/`: one module per resource (records, tasks, handoffs, notifications) and the docs.
Who calls (a personal token or the session) is `accounts.api_auth`'s; settings.REST_FRAMEWORK.
"""
