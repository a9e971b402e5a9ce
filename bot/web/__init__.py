"""The web: the HTTP and websocket server, one adapter per kind of user, and the pages it serves.

Adapters turn frames into service calls and events into frames; they hold no business rules.

::

    server.py     the HTTP routes, the static pages, and which websocket goes where
    customer.py   the customer websocket (the widget)
    agents.py     the agent websocket (console)
    admin.py      the admin websocket (sign-in, reloads, candidates), with
    admin_insights.py and admin_inbox.py for its insights and inbox frames
    protocol.py   frame shapes and their validation
    limits.py     rate limits per address
    static/       the widget, the agent console and the admin page (plain HTML, CSS and ES modules);
                  static/vendor/ holds front-end libraries from the npm registry (vendor/fetch.sh)
"""
