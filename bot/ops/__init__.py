"""Operations: settings from the environment, Prometheus metrics, and log context.

What running the server needs besides the product itself; imported by the service, the web and the CLI.
"""
