"""Errors of the embedding package; each message names the setting that fixes it."""

from __future__ import annotations

from index.errors import UserFacingError


class TextModelUnavailable(RuntimeError):
    """The text model could not be loaded: nothing can be indexed or searched, so this is fatal."""


class ImageModelUnavailable(UserFacingError, RuntimeError):
    """The image model is off or its weights could not be loaded; text search keeps working."""


class ImageInputError(UserFacingError, ValueError):
    """A picture given by a user or an entry could not be read, fetched or decoded."""
