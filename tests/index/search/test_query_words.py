"""Query length decides whether words are a title/wish list or a description; Japanese has no spaces."""

from __future__ import annotations

import pytest

from index.search.intent import WISH_LIST_MAX_WORDS
from index.search.intent_words import query_words


@pytest.mark.parametrize(
    ("text", "words"),
    [("cowboy bebop", 2), ("新世紀エヴァンゲリオン", 6), ("Attack on Titan 進撃の巨人", 6), ("", 0)],
)
def test_words_are_counted_in_every_script(text: str, words: int) -> None:
    assert query_words(text) == words


def test_a_japanese_plot_description_is_a_description_and_a_japanese_title_is_short() -> None:
    plot = "天才脳外科医が命を救った少年が、のちに連続殺人鬼となって彼の前に現れる"
    assert query_words(plot) > WISH_LIST_MAX_WORDS
    assert query_words("涼宮ハルヒの憂鬱") <= WISH_LIST_MAX_WORDS
