"""Imported by the extraction workers' forkserver before it forks any worker.

Initialising the extraction stack here — above all py3langid's model, ~74 MB of arrays
built on first use — means every worker shares those pages copy-on-write instead of
building its own copy: the workers' memory is mostly shared.
"""

from __future__ import annotations

import py3langid

from pipeline.extract.extractor import extract

py3langid.classify("Loading the language model once, in the forkserver, for every worker.")
extract(
    "<html><head><title>Warm-up</title></head><body><article><h1>Warm-up</h1>"
    + "<p>A paragraph of text to run the extractor once before workers fork.</p>" * 6
    + "</article></body></html>",
    "http://warm-up.invalid/",
)
