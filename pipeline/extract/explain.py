"""Why extraction kept what it kept: the trace of `extractor.explain`.

Extraction's steps take an optional `Trace` and, when given one, note what they
removed (by which rule) and where each metadata value came from. Without one they
do exactly what they always do: the trace only watches. `Trace.freeze` gives the
frozen `Explanation` that `explain` returns beside the Article. Pure; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The steps that remove text, in the order they run.
DROP = "drop"  # the source's `drop` selectors
PRECLEAN = "preclean"  # generic page cleaning before trafilatura (clean.preclean)
LINES = "lines"  # line rules on trafilatura's text (boilerplate.clean_lines)
BOILERPLATE = "boilerplate"  # lines learnt as the source's boilerplate


@dataclass(frozen=True, slots=True)
class Removed:
    """Text one rule removed."""

    step: str  # DROP, PRECLEAN, LINES or BOILERPLATE
    rule: str  # e.g. "drop '.related'", "hidden element", "clutter line"
    text: str


@dataclass(frozen=True, slots=True)
class Origin:
    """Where one metadata value came from."""

    field: str  # title, authors, published, ...
    value: str
    origin: str  # e.g. "JSON-LD headline", "OpenGraph og:title", "byline element", "URL"


@dataclass(frozen=True, slots=True)
class Explanation:
    removed: tuple[Removed, ...] = ()
    metadata: tuple[Origin, ...] = ()
    extracted: str = ""  # trafilatura's text, before the line rules
    verdict: str = ""  # why there is no article, when there is none
    access: str = "ok"  # the page's access label (extract/access.py)
    access_reason: str = ""  # why, when it is not "ok"


@dataclass(slots=True)
class Trace:
    """The collector the extraction steps write to (one per `explain` call)."""

    removed: list[Removed] = field(default_factory=list)
    origins: dict[str, Origin] = field(default_factory=dict)
    extracted: str = ""
    verdict: str = ""
    access: str = "ok"
    access_reason: str = ""

    def remove(self, step: str, rule: str, text: str) -> None:
        text = " ".join(text.split())
        if text:
            self.removed.append(Removed(step, rule, text))

    def origin(self, name: str, value: object, where: str) -> None:
        """Note where `name`'s value came from (the first note for a field stands)."""
        if value and name not in self.origins:
            shown = ", ".join(value) if isinstance(value, tuple | list) else str(value)
            self.origins[name] = Origin(name, shown, where)

    def freeze(self) -> Explanation:
        return Explanation(
            tuple(self.removed),
            tuple(self.origins.values()),
            self.extracted,
            self.verdict,
            self.access,
            self.access_reason,
        )
