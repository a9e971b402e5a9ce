"""Importing a Rasa project: NLU, domain, rules, stories and forms become a Deskmate KB.

::

    project.py     finds the project's files
    files.py       reads Rasa YAML with file and line
    domain.py      the domain, as a file or a folder
    intents.py     NLU examples    entities.py  regexes, lookups, synonyms
    responses.py   responses       forms.py     forms and their slot mappings
    dialogue.py    rules and stories, read     flows.py  what they mean for each intent
    answers.py     each intent's answer        write.py  writing the KB's files
    importer.py    ``deskmate kb import-rasa``: the whole import
"""
