"""Operations: settings from the environment, secrets kept in the data folder, Prometheus metrics, log
context, and the insights as files (``deskmate report``: report.py, insights_csv.py).

What running the server needs besides the product itself; imported by the service, the web and the CLI.
"""
