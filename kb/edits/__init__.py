"""Changes an admin makes to a KB folder, validated by the loader before they are written.

::

    changes.py     add_examples, new_intent, add_out_of_scope -> KBEdit (locked, checked, atomic)
    yamltext.py    appending to a YAML file's text, keeping its comments and order

(A package rather than kb/edits.py: kb/ holds the 16 modules a folder may have.)
"""

from __future__ import annotations

from kb.edits.changes import EditKind, KBEdit, add_examples, add_out_of_scope, example_text, new_intent

__all__ = ["EditKind", "KBEdit", "add_examples", "add_out_of_scope", "example_text", "new_intent"]
