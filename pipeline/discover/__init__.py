"""Stage 2, discovery: a source's feeds, sitemaps and listing pages turned into candidate
article URLs (`discoverer`), with the formats parsed in `feeds`. Talks to the archive only
through the `Frontier` protocol.
"""
