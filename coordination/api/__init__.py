"""The REST API under /api/v1/ (issue 17): the same services and policy as the pages."""
