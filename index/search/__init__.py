"""Search: dense and keyword candidates, fusion, dates, follow-ups, the cited answer, evaluation."""
