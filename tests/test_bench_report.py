"""tools/bench.py reads the plain script's own timing off its summary line."""

from __future__ import annotations

import pytest

from tools.bench import plain_parse_rate


@pytest.mark.parametrize(
    "line, files, rate",
    [
        (
            "baseline: 61680 files, 61680 published, 0 duplicate, 0 rejected; parse 16.1s, total 25.3s -> x",
            61680,
            61680 / 16.1,
        ),
        ("baseline: 10 files; parse 2s, total 3s", 10, 5.0),
        ("baseline: 10 files; total 3s", 10, None),  # no parse phase given
        ("baseline: 10 files; parse 0.0s, total 0.1s", 10, None),  # too fast to time
        ("baseline: 10 files; reparse 2s", 10, None),  # not the parse field
    ],
)
def test_plain_parse_rate(line: str, files: int, rate: float | None) -> None:
    got = plain_parse_rate(line, files)
    if rate is None:
        assert got is None
    else:
        assert got == pytest.approx(rate)
