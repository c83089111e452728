"""`newsarchive changes` and `newsarchive show ID --diff [REV]`: edits of stored
stories as word-level diffs (jobs/diffs.py), corrections marked."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console

    from pipeline.jobs.diffs import TextDiff
    from pipeline.store import Archive
    from pipeline.store.changes import StoryChange, Version

from pipeline.cli.options import EXIT_FAILED, config_options, fail, guarded, resolve_db
from pipeline.cli.output import clean_line, stdout
from pipeline.errors import UsageError


class _Boilerplate:
    """Each source's learnt boilerplate keys, read once."""

    def __init__(self, archive: Archive) -> None:
        self._archive = archive
        self._keys: dict[str, frozenset[str]] = {}

    def __call__(self, source: str) -> frozenset[str]:
        if source not in self._keys:
            self._keys[source] = self._archive.boilerplate(source)[0]
        return self._keys[source]


def _diff(before: Version, after: Version, keys: frozenset[str]) -> TextDiff:
    from pipeline.jobs.diffs import diff

    return diff(
        before.text,
        after.text,
        title_before=before.title,
        title_after=after.title,
        boilerplate=keys,
    )


def _words(count: int) -> str:
    return f"{count} word" if count == 1 else f"{count} words"


def _as_json(
    article_id: int, source: str, url: str, before: Version, after: Version, d: TextDiff
) -> dict[str, Any]:
    return {
        "id": article_id,
        "source": source,
        "url": url,
        "changed_at": after.seen_at,
        "from_revision": before.revision,
        "to_revision": after.revision,
        "title": after.title,
        "title_before": before.title if d.title_changed else None,
        "change": round(d.change, 4),
        "words_deleted": d.words_deleted,
        "words_inserted": d.words_inserted,
        "correction": bool(d.corrections),
        "corrections": list(d.corrections),
        "diff": [{"op": s.op, "text": s.text} for s in d.segments],
    }


def _render(
    out: Console,
    article_id: int,
    source: str,
    url: str,
    before: Version,
    after: Version,
    d: TextDiff,
) -> None:
    """One change: a header line, the title change, corrections, then the words, with
    deletions as [-…-] and insertions as {+…+} (red and green on a terminal)."""
    from rich.text import Text

    head = Text()
    head.append(f"#{article_id} ", style="bold")
    head.append(clean_line(after.title) or "(untitled)", style="bold")
    head.append(f"  ({clean_line(source)})", style="dim")
    out.print(head, soft_wrap=True)
    when = clean_line(after.seen_at).replace("T", " ") or "?"
    summary = (
        f"  revision {before.revision} -> {after.revision}, changed {when}:"
        f" {_words(d.words_deleted)} deleted, {d.words_inserted} inserted"
        f" ({d.change:.1%} of the text)"
    )
    out.print(Text(summary, style="dim"), soft_wrap=True)
    out.print(Text("  " + clean_line(url), style="dim"), soft_wrap=True)
    if d.corrections:
        out.print(Text.assemble(("  CORRECTION ", "bold reverse red"), " the story was corrected:"))
        for line in d.corrections:
            out.print(Text("    " + clean_line(line), style="bold red"), soft_wrap=True)
    if d.title_changed:
        title = Text("  title: ")
        title.append(f"[-{clean_line(before.title)}-]", style="red")
        title.append(" ")
        title.append(f"{{+{clean_line(after.title)}+}}", style="green")
        out.print(title, soft_wrap=True)
    hunk = Text("    ")
    for segment in d.segments:
        text = clean_line(segment.text)
        if segment.op == "skip":  # each hunk of edits on a line of its own
            if hunk.plain.strip():
                out.print(hunk, soft_wrap=True)
                hunk = Text("    ")
            out.print(Text(f"    … {_words(int(text))} unchanged …", style="dim"))
        elif segment.op == "equal":
            hunk.append(text + " ")
        elif segment.op == "delete":
            hunk.append(f"[-{text}-]", style="bold red")
            hunk.append(" ")
        else:
            hunk.append(f"{{+{text}+}}", style="bold green")
            hunk.append(" ")
    if hunk.plain.strip():
        out.print(hunk, soft_wrap=True)
    if not d.segments and not d.title_changed:
        out.print(Text("  (only white space, dates or boilerplate changed)", style="dim"))
    out.print()


@click.command("changes")
@config_options
@click.option(
    "--since",
    default="7d",
    show_default=True,
    metavar="WHEN",
    help="Edits found on or after: YYYY-MM-DD, ISO time, or 7d/24h/2w ago.",
)
@click.option(
    "--source", "sources", multiple=True, metavar="NAME", help="Only this source (repeatable)."
)
@click.option(
    "--min-change",
    default="0%",
    show_default=True,
    metavar="PCT",
    help="Leave out edits that changed fewer words than this (e.g. 2%); title edits stay.",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 100000),
    default=200,
    show_default=True,
    help="List at most this many changes, newest first.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per change and line.")
@guarded
def changes_command(
    config_path: Path,
    db: Path | None,
    since: str,
    sources: tuple[str, ...],
    min_change: str,
    limit: int,
    as_json: bool,
) -> None:
    """Stories whose text or title changed after they were archived, newest edit first,
    each with the time of the change and a word-level diff. White space, the dates of
    "Updated at" lines and the source's learnt boilerplate do not count as changes.
    Corrections ("Correction:", "An earlier version of this story…", "Korrektur:",
    "Rectificatif", "Corrección:", …) are marked."""
    from pipeline.export.formats import json_text
    from pipeline.jobs.diffs import parse_share
    from pipeline.store import Archive
    from pipeline.store import changes as store_changes
    from pipeline.store.queries import parse_when

    try:
        threshold = parse_share(min_change)
    except ValueError:
        raise UsageError(
            f"--min-change {min_change!r}: give a share of the words, e.g. 2% or 0.02"
        ) from None
    bound = parse_when(since, datetime.now(UTC))
    shown = 0
    out = stdout()
    with Archive.open(resolve_db(config_path, db), readonly=True) as archive:
        keys = _Boilerplate(archive)
        found: list[StoryChange] = store_changes.changes(archive, bound, sources, limit)
        for change in found:
            d = _diff(change.before, change.after, keys(change.source))
            if not d.changed or (d.change < threshold and not d.title_changed):
                continue
            shown += 1
            if as_json:
                click.echo(
                    json_text(
                        _as_json(
                            change.article_id,
                            change.source,
                            change.url,
                            change.before,
                            change.after,
                            d,
                        )
                    )
                )
            else:
                _render(
                    out,
                    change.article_id,
                    change.source,
                    change.url,
                    change.before,
                    change.after,
                    d,
                )
    if not shown and not as_json:
        out.print(f"No changes since {bound}.")


def show_diff(config_path: Path, db: Path | None, id_or_url: str, rev: str, as_json: bool) -> None:
    """`show ID --diff [REV]`: the story's current text against its previous version,
    or against revision REV."""
    from pipeline.export.formats import json_text
    from pipeline.store import Archive, queries
    from pipeline.store import changes as store_changes

    with Archive.open(resolve_db(config_path, db), readonly=True) as archive:
        row = queries.article(archive, id_or_url)
        if row is None:
            fail(f"no article {clean_line(id_or_url)!r} in the archive", EXIT_FAILED)
            return
        article_id = int(row["id"])
        found = store_changes.versions(archive, article_id)
        source, link = store_changes.story_origin(archive, article_id)
        keys = archive.boilerplate(source)[0] if source else frozenset[str]()
    current = found[-1]
    if len(found) < 2:
        raise UsageError(f"story #{article_id} has no earlier revision: it was never edited")
    if rev:
        try:
            wanted = int(rev)
        except ValueError:
            raise UsageError(f"--diff {clean_line(rev)!r}: give a revision number") from None
        earlier = [v for v in found[:-1] if v.revision == wanted]
        if not earlier:
            numbers = ", ".join(str(v.revision) for v in found[:-1])
            raise UsageError(
                f"story #{article_id} has no earlier revision {wanted}"
                f" (earlier revisions: {numbers}; current: {current.revision})"
            )
        before = earlier[0]
    else:
        before = found[-2]
    d = _diff(before, current, keys)
    if as_json:
        click.echo(json_text(_as_json(article_id, source, link, before, current, d), indent=2))
        return
    _render(stdout(), article_id, source, link, before, current, d)
