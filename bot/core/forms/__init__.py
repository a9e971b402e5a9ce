"""Forms in the conversation core: tasks carried over several turns, without I/O.

::

    state.py    FormState: the active form, the slot asked for, failures, a pending yes/no
    replies.py  plain yes / no / stop: the words a form understands in any KB
    reading.py  what a customer's reply fills: slot candidates from entities, text, intents, buttons
    checks.py   a slot's check (pattern or lookup)
    values.py   which candidates are kept: the checks, then what the form's validate action said
    requests.py what a turn asks of the service: RunAction (validate, ask, done), AnswerInstead
    turn.py     FormTurn: one customer turn of a form, a generator that yields those requests and
                resumes with their results
"""
