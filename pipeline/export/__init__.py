"""Export: the archive's stories as JSONL, CSV, WARC, Parquet or a tree of text/Markdown
files. formats.py: the formats and their registry; tree.py: one file per story, safe
names, atomic writes."""
