"""The ``deskmate`` command line: argument parsing and printing around what it calls.

Nothing imports this package; it imports the rest. ``main.py`` holds the entry point.
"""
