"""De-identification: personal values in past replies become typed placeholders.

::

    masking.py      the Deidentifier: patterns, entities and names to {kind} placeholders
    pii.py          accounts, postcodes, addresses and card cues
    names.py        the person-name recogniser
    name_words.py   its word lists
"""
