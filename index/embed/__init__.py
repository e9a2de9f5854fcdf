"""Embedding: the `TextEmbedder` protocol and its factory, one module per backend."""
