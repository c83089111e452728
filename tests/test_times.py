"""The archive's one date normaliser (times.normalise), used by feeds, WARC import,
extraction and the store."""

from __future__ import annotations

import time

from pipeline.times import normalise, to_utc


def test_normalise_gives_utc_or_keeps_the_publishers_offset() -> None:
    assert normalise("2024-03-05T23:30:00-05:00") == "2024-03-06T04:30:00Z"
    assert normalise("2024-03-05T23:30:00.250-0500", utc=False) == "2024-03-05T23:30:00-05:00"
    assert normalise("2024-03-05 10:42:00Z", utc=False) == "2024-03-05T10:42:00+00:00"


def test_normalise_keeps_local_times_and_dates_alone_and_rejects_the_rest() -> None:
    assert normalise("2024-03-05T10:42:00") == "2024-03-05T10:42:00"
    assert normalise(" 2024-03-05 ") == "2024-03-05"
    assert normalise(time.strptime("2024-03-05 10:42:00", "%Y-%m-%d %H:%M:%S")) == (
        "2024-03-05T10:42:00Z"
    )
    for junk in (None, "", "yesterday", "2024-02-30", "Tue, 05 Mar 2024 10:42:00 GMT"):
        assert normalise(junk) is None
    assert to_utc("yesterday") == "yesterday"
