"""Storage: every seam the server keeps data behind, its in-memory twin, and the real stores.

The seams and the value types they hold live here, so the stores depend on nothing above them;
the services that use them (bot/service/) import from here, never the other way round. Storage
imports no transport, no bus and no service module.

::

    store.py        Store: conversations and their events, reload records; InMemoryStore
    accounts.py     AccountStore: agents and admins, session tokens; InMemoryAccountStore
    candidates.py   CandidateStore: answers agents gave, waiting for review; InMemoryCandidateStore
    reloads.py      ReloadRecord: what each KB reload did
    insights.py     InsightsStore: the admin's figures from the stored events (definitions there);
                    insights_memory.py is its in-memory twin
    sqlite/         the embedded default: one file, one worker thread
    postgres/       several replicas: asyncpg, one pool
    factory.py      picks SQLite or PostgreSQL from the settings
"""
