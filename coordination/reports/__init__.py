"""Coordinator reports: how a unit is doing, week by week (issue 18)."""
