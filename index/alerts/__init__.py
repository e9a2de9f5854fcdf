"""Topic alerts and daily digests."""
