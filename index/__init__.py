"""newsbot's archive: import, chunk, embed, index and answer with citations."""
