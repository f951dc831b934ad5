"""Benchmarks: `python -m bench.pipeline` (also `make bench`). Numbers go into closing notes, not tests."""
