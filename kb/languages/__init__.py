"""Languages of a KB: words without spaces (segmentation), texts in several languages (localized)."""
