"""Every write of post-loan monitoring, one module per concept: statements, covenants and their tests,
projects and their cash flows (the covenants area); reviews, signals and the watchlist (oversight)."""
