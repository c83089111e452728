"""Archives for the search/export/serve tests, built through the real store API, and
a `newsarchive serve` process to drive."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.models import Article, Candidate, PageResult
from pipeline.store import Archive
from pipeline.text import content_hash, story_text

REPO = Path(__file__).resolve().parents[1]
FETCHED = "2026-11-25T12:00:00Z"


@dataclass(frozen=True)
class Story:
    key: str  # unique: makes the URL and keeps texts distinct
    title: str
    text: str
    source: str = "gazette"
    published: str | None = "2026-11-02T08:15:00Z"
    language: str | None = "en"
    authors: tuple[str, ...] = ("Marta Ellingham",)
    tags: tuple[str, ...] = ()
    standfirst: str | None = None

    @property
    def url(self) -> str:
        return f"https://{self.source}.example/news/{self.key}/"


def result(story: Story, fetched: str = FETCHED) -> PageResult:
    text = story.text
    article = Article(
        url=story.url,
        canonical_url=story.url,
        text=text,
        content_hash=content_hash(story_text(story.standfirst, text)),
        title=story.title,
        authors=story.authors,
        published=story.published,
        language=story.language,
        sitename=story.source.title(),
        tags=story.tags,
        standfirst=story.standfirst,
    )
    return PageResult(
        Candidate(story.url, story.source), "article", fetched, article=article, final_url=story.url
    )


def build_archive(path: Path, stories: list[Story]) -> Path:
    with Archive.open(path) as archive:
        outcomes = archive.save([result(s) for s in stories], None)
    assert all(o.outcome == "new" for o in outcomes), outcomes
    return path


def filler(key: str, words: int = 60) -> str:
    """Distinct, unremarkable text (so stories are neither duplicates nor matches)."""
    vocab = ["the", "a", "of", "to", "in", "on", "and", "it", "was", "for", "with", "as"]
    return " ".join(vocab[i % len(vocab)] for i in range(words)) + f" ref {key}."


UNICODE_TEXT = (
    "Zürich naïve café — «guillemets», 東京の港, Ελληνικά, עברית العربية, emoji 🌊🚢 and "
    "a family 👩‍👩‍👧, combining e\u0301, a zero\u200bwidth space, NBSP\u00a0here.\n\n"
    "Second paragraph with a tab\tand a line\u2028separator, a NEL\x85and CRLF\r\nend; "
    "quotes \"double\" and 'single', a comma, and a backslash \\ to finish."
)

STORIES: list[Story] = [
    Story(
        "harbour-wall",
        "Council approves £4.2m repairs to storm-battered harbour wall",
        "The harbour wall will be repaired after a vote of 21 to 4. Engineers found that "
        "38 metres of the sea wall had moved. " + filler("hw"),
        tags=("council", "harbour"),
    ),
    Story(
        "harbour-swim",
        "Hundreds brave cold water for charity swim",
        "More than 400 swimmers plunged into the outer harbour on Sunday morning. " + filler("hs"),
        published="2026-11-24T07:00:00Z",
    ),
    Story(
        "ferry-parking",
        "Ferry passengers face rise in terminal parking charges",
        "Parking at the ferry terminal will cost 60% more. The harbour authority "
        "defended the plan. " + filler("fp"),
        published="2026-10-15T09:00:00Z",
    ),
    Story(
        "hafen",
        "Stadtrat beschließt Sanierung der Hafenmauer",
        "Die Hafenmauer wird für 4,2 Millionen Euro saniert, beschloss der Stadtrat. "
        + filler("hm"),
        source="kurier",
        language="de",
        published="2026-10-03T10:00:00Z",
        authors=("Jürgen Weiß",),
    ),
    Story(
        "lighthouse",
        "Film festival in a lighthouse returns",
        "Screenings in the lamp room of the lighthouse sold out. " + filler("lh"),
        source="kurier",
        published="2026-09-30T18:00:00Z",
    ),
    Story("unicode", "Ærøskøbing – 東京 😀 naïve “quotes”", UNICODE_TEXT, published="2026-11-20"),
    Story(
        "formula",
        '=HYPERLINK("http://evil.example","click")',
        "-2+3 looks like a formula, @SUM(A1) too. " + filler("fm"),
        authors=("+44 20 7946 0000",),
        published="2026-11-21T10:00:00Z",
    ),
    Story(
        "escapes",
        "\x1b[31mRed alert\x1b[0m [/] [bold]\u202eevil\u202c title",
        "Text with an escape \x1b]0;pwned\x07 sequence and a bell \x07 inside. " + filler("es"),
        published="2026-11-22T10:00:00Z",
    ),
    Story(
        "same-title-1",
        "Weekly market report",
        "Prices at the fish market rose this week. " + filler("m1"),
        published="2026-11-05T10:00:00Z",
    ),
    Story(
        "same-title-2",
        "Weekly market report",
        "Prices at the fish market fell this week. " + filler("m2"),
        published="2026-11-12T10:00:00Z",
    ),
]

HOSTILE_TITLES = [
    "../../etc/passwd",
    "/etc/shadow",
    "..\\..\\windows\\system32",
    "CON",
    "nul",
    "COM1",
    "lpt9",
    "x" * 3000,
    "Ω" * 400,
    "\u202etxt.exe",
    "．．／．．／etc／passwd",  # fullwidth dots and solidus
    "\u2024\u2024\u2215tmp\u2215evil",  # one-dot leaders, division slash
    "...",
    "",
    "\x00\x01\x1b[2J",
    'a/b\\c:d*e?f"g<h>i|j',
    "e\u0301" * 200,  # a combining mark on every letter
]


def hostile_stories() -> list[Story]:
    stories = [
        Story(f"hostile-{i}", title, f"Hostile title number {i}. " + filler(f"h{i}"))
        for i, title in enumerate(HOSTILE_TITLES)
    ]
    odd = "Hostile source and date. " + filler("hsd")
    return [*stories, Story("hostile-source", "passwd", odd, source="../../etc", published="../")]


def cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", "COLUMNS": "120"}


@dataclass
class Served:
    url: str  # the database's page, e.g. http://127.0.0.1:PORT/news
    process: subprocess.Popen[str]
    lines: list[str]  # stderr so far, filled by a reader thread
    reader: threading.Thread

    @property
    def root(self) -> str:
        return self.url.rsplit("/", 1)[0]

    @property
    def stderr(self) -> str:
        return "".join(self.lines)


def start_serve(db: Path, *args: str, cwd: Path, timeout: float = 60) -> Served:
    """`newsarchive serve --db DB --port 0`; returns once it printed its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "serve", "--db", str(db), "--port", "0", *args],
        cwd=cwd,
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    arrived: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            arrived.put(line)
        arrived.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = arrived.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        match = re.search(r"Serving (http://\S+)", line)
        if match:
            return Served(match.group(1), process, lines, reader)
    process.kill()
    process.wait(timeout=10)
    reader.join(timeout=10)
    _close(process)
    raise AssertionError(f"serve did not start: {''.join(lines)}")


def stop_serve(served: Served, timeout: float = 20) -> tuple[int, str]:
    """Ctrl-C, as a person would; returns (exit code, all of stderr)."""
    served.process.send_signal(signal.SIGINT)
    try:
        served.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait(timeout=10)
        served.reader.join(timeout=10)
        _close(served.process)
        raise AssertionError(f"serve ignored Ctrl-C: {served.stderr}") from None
    served.reader.join(timeout=10)
    _close(served.process)
    return served.process.returncode, served.stderr


def _close(process: subprocess.Popen[str]) -> None:
    if process.stderr is not None:
        process.stderr.close()


@contextmanager
def serving(db: Path, *args: str, cwd: Path) -> Iterator[Served]:
    served = start_serve(db, *args, cwd=cwd)
    try:
        yield served
    finally:
        if served.process.poll() is None:
            stop_serve(served)
