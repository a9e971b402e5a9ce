"""Benchmarks of retrieval: index speed, retrieval on STAR, the reply policy on STAR.

``star_data.py`` reads the STAR dialogues these benchmarks measure on. Only ``deskmate bench``
imports this package, when run.
"""
