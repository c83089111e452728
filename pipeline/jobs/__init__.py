"""The loops that drive the stages: a crawl (`run`, each page of it `page`), re-extraction
and WARC import (`offline`), the counts and batched saves they share (`tally`), and the
archive's run lock (`lock`).
"""
