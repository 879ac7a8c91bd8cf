"""Benchmarks: `python -m benchmarks [NAME ...]` runs them and prints Markdown for BENCHMARKS.md."""
