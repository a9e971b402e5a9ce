"""The service layer: the core put to work with models, storage, the bus and custom actions.

Each service takes its collaborators (store, bus, action runner, models) as arguments, so tests
hand it the in-memory twins. The web adapters and the CLI call these; these never call them.

::

    chat.py            ChatService: a customer's message in, the bot's turn out, stored and published
    brain.py           the models a message goes through: classifier, retriever, policy inputs
    action_turn.py     a turn that runs a custom action or a form's action
    generated_turn.py  a turn answered by the generator, streamed
    batcher.py         one model pass for messages that arrive together
    desk.py            the agent desk: queue, claim, reply, hand back, close
    candidates.py      agents' answers recorded for an admin's review
    feedback.py        customers' thumbs, "end chat" and survey scores, checked and stored
    misunderstood.py   the messages the bot got wrong, grouped by meaning
    kb_inbox.py        the admin's inbox: those groups, the fixes written into the KB, "apply and reload"
    accounts.py        logins, session tokens and the rules for names and passwords
    reloader.py        KB reloads without downtime
    session_tokens.py  customers' signed session tokens
"""
