"""Benchmarks of the intent classifier: accuracy against a baseline, out-of-scope detection.

Only ``deskmate bench`` imports this package, when run.
"""
