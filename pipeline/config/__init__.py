"""Stage 1, configuration: sources.yaml loaded (`loader`) and its values checked (`checks`)
into frozen dataclasses; bad input is a ConfigError naming the file, source, key and line.
"""
