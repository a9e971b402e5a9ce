"""Languages of customers: which one they write (detect), and the encoder that reads them all (multilingual)."""
