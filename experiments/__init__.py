"""Benchmarks and named experiments that reproduce every reported figure."""
