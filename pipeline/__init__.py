"""newsarchive: scrape news sites, extract the stories, keep them in SQLite."""

__version__ = "0.1.0"
