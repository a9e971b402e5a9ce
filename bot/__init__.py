"""Deskmate's chat server: what happens to a customer's message, and everything around it.

Layers, lowest first. A layer imports only from the ones above it in this list (and ``errors``);
``tests/test_architecture.py`` enforces it and names any import that runs the wrong way::

    errors.py       the exceptions every layer raises, each saying what to do next
    core/           the conversation core: state, policy, replies, forms; no I/O at all
    generation/     generated replies: grounding, the guard, the two generator backends
    actions/        Rasa SDK custom actions, in-process or on an action server (users' code imports this)
    storage/        the store seams, their in-memory twins, sqlite/ and postgres/
    bus/            the message bus seam, the in-process bus, Redis, agent presence
    ops/            settings, metrics, log context
    service/        the chat service, the agent desk, KB reloads, candidates, accounts, the models
    web/            the HTTP and websocket server, its customer, agent and admin adapters, the pages
    app.py          wires one server from settings (what ``deskmate serve`` runs)
    dialogue_tests/ ``deskmate test``: scripted conversations played through the service
    cli/            the ``deskmate`` commands; nothing imports them
    bench/          benchmarks of the bot; only the CLI's bench commands import them, when run
"""
