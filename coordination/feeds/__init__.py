"""Calendar feeds behind a secret, renewable URL (issue 17)."""
