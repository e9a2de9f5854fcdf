"""Storage: SQLite (the store and its migrations) and the FAISS vector index."""
