"""The one base class of errors whose message is written for the person using a tool.

Kept free of imports so index/, enrichment/ and server/ can all derive from it without importing
each other; ``tools.common.tool_errors`` shows these messages as they are and hides every other
failure behind a generic one.
"""

from __future__ import annotations


class UserFacingError(Exception):
    """Bad input or an unavailable feature: the message says what to change and holds no server detail."""
