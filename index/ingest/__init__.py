"""Ingest: reading files, parsing documents, canonical URLs and chunking (pure, no storage)."""
