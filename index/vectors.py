"""The named vectors of the collection and the search aspects that address them.

These names are part of the design and of stored collections: keep them.
"""

from __future__ import annotations

from enum import Enum

TITLE = "title_vector"
CHARACTER = "character_vector"
GENRE = "genre_vector"
TECHNICAL = "technical_vector"
STAFF = "staff_vector"
REVIEW = "review_vector"
TEMPORAL = "temporal_vector"
STREAMING = "streaming_vector"
RELATED = "related_vector"
FRANCHISE = "franchise_vector"
EPISODE = "episode_vector"
IDENTIFIERS = "identifiers_vector"
IMAGE = "image_vector"
LEXICAL = "lexical"  # sparse BM25

TEXT_VECTORS: tuple[str, ...] = (
    TITLE,
    CHARACTER,
    GENRE,
    TECHNICAL,
    STAFF,
    REVIEW,
    TEMPORAL,
    STREAMING,
    RELATED,
    FRANCHISE,
    EPISODE,
    IDENTIFIERS,
)
DENSE_VECTORS: tuple[str, ...] = (*TEXT_VECTORS, IMAGE)


class Priority(str, Enum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


PRIORITY: dict[str, Priority] = {
    TITLE: Priority.HIGH,
    CHARACTER: Priority.HIGH,
    GENRE: Priority.HIGH,
    IMAGE: Priority.HIGH,
    TECHNICAL: Priority.MEDIUM,
    STAFF: Priority.MEDIUM,
    TEMPORAL: Priority.MEDIUM,
    REVIEW: Priority.MEDIUM,
    STREAMING: Priority.LOW,
    RELATED: Priority.LOW,
    FRANCHISE: Priority.LOW,
    EPISODE: Priority.LOW,
    IDENTIFIERS: Priority.LOW,
}


class Aspect(str, Enum):
    """What a caller may ask a search to look at; each maps to one named vector."""

    STORY = "story"
    CHARACTERS = "characters"
    GENRE = "genre"
    STAFF = "staff"
    TECHNICAL = "technical"
    TEMPORAL = "temporal"
    STREAMING = "streaming"
    RELATED = "related"
    FRANCHISE = "franchise"
    EPISODES = "episodes"
    REVIEWS = "reviews"
    IDENTIFIERS = "identifiers"
    VISUAL = "visual"


ASPECT_VECTOR: dict[Aspect, str] = {
    Aspect.STORY: TITLE,
    Aspect.CHARACTERS: CHARACTER,
    Aspect.GENRE: GENRE,
    Aspect.STAFF: STAFF,
    Aspect.TECHNICAL: TECHNICAL,
    Aspect.TEMPORAL: TEMPORAL,
    Aspect.STREAMING: STREAMING,
    Aspect.RELATED: RELATED,
    Aspect.FRANCHISE: FRANCHISE,
    Aspect.EPISODES: EPISODE,
    Aspect.REVIEWS: REVIEW,
    Aspect.IDENTIFIERS: IDENTIFIERS,
    Aspect.VISUAL: IMAGE,
}
