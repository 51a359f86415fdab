"""Benchmarks (`make bench`, never `make test`): triage speed on large synthetic histories, the
numbers written to docs/benchmarks.md, never asserted."""
