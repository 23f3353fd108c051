"""Benchmarks, run by hand or by `make bench`: they report numbers and assert nothing."""
