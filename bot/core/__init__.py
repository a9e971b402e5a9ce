"""The conversation core: what a conversation is and what the bot says next, without any I/O.

Everything here is plain computation over values: a :class:`~bot.core.conversation.Conversation`
is rebuilt from its stored events, takes a message with what the models understood of it, and
returns new events. It never touches a socket, a database, the bus or a clock it was not given, so
every rule can be tested with plain calls and replayed from the store. It may import only
``bot.errors``, ``kb``, ``retrieval`` and ``training`` value types, never storage, the bus, the
service, the web or the CLI.

::

    events.py        the event kinds and values: the one record of what happened
    conversation.py  the state machine: bot, handed off, with an agent, closed; replay
    policy.py        answer, clarify or hand off, from classifier and retriever scores
    composer.py      reply texts from templates, past replies and system messages
    templates.py     choosing and filling a template's variations from the slots
    entities.py      patterns and lookups found in messages
    forms/           tasks over several turns: slots, checks, stop and confirm
    readable.py      whether a message holds anything to read (junk is asked to be rephrased)
    feedback.py      what a customer may rate: thumbs on an answer, a score for the ended chat
    customer.py      who the customer is, as agents see them (label, email, page, start)
    assist.py        suggestions for agents
    task_view.py     the console's view of a conversation's form
"""
