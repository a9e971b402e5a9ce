"""Benchmarks of the bot's reply path."""
