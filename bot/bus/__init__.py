"""The message bus: conversation events and live signals fanned out to every connection watching.

Storage says what happened; the bus says it now, to whoever watches (a customer's tab, agents'
consoles, other replicas). It imports the core's event values and nothing of storage, the
service or the web.

::

    base.py        the Bus seam, Signal, and local delivery shared by both buses
    inprocess.py   InProcessBus: the embedded default
    redis_bus.py   RedisBus: several replicas over Redis pub/sub
    presence.py    which agents are online, across replicas
"""
