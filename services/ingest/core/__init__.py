"""Ingest's pure core: batch and record validation, upstream-format translation, rate limiting; no I/O library."""
