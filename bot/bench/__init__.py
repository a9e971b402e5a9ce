"""Benchmarks of the bot: load, faithfulness, privacy.

Kept apart from the runtime so that ``deskmate serve`` imports none of it; ``deskmate bench ...``
imports each benchmark only when it is run.
"""
