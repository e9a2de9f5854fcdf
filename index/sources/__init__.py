"""Sources: the one HTTP client, feeds and pages, near-duplicates, adding and refreshing."""
