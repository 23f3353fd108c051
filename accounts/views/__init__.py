"""Sign-in pages: the password step, the second step, sign-out and the Security page."""
