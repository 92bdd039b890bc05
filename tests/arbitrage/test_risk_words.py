"""Every risk flag the engine can raise is explained, on the dashboard and in the README."""

from __future__ import annotations

import re

from arbitrage.engine.risk import SERIOUSNESS
from arbitrage.risk_words import RISK_WORDS
from tests import REPO


def test_every_flag_has_its_words_for_people() -> None:
    assert list(RISK_WORDS) == list(SERIOUSNESS)
    assert all(len(words) > 40 for words in RISK_WORDS.values())


def test_the_readme_explains_every_flag() -> None:
    section = (REPO / "README.md").read_text().split("## Risk flags", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^\| `(\w+)` \|", section, re.M) == list(SERIOUSNESS)
