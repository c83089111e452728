"""Stage 4, extraction, pure and free of I/O: pre-cleaning (`clean`), trafilatura and the
line rules (`extractor`, `boilerplate`), credits (`credits`) and metadata (`metadata`);
`workers` runs it in a pool of processes with time and memory limits.
"""
