"""How a story unfolded: timelines of dated events, coverage counts and their charts."""
