"""The SQLite stores: the embedded default, one database file written by one worker thread."""
