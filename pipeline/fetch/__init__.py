"""Stage 3, fetching: the polite HTTP client (`fetcher`: limits, delays, robots.txt,
retries, conditional GET), how robots.txt is loaded and cached (`robots`), and the
address policy every connection passes (`netguard`).
"""
