"""WARC captures: writing each article response as it was served, and reading records back."""
