"""The one base class of errors whose message is written for the person using a tool.

Kept free of project imports so index/, enrichment/ and server/ can all derive from it without importing
each other; ``tools.common.tool_errors`` shows these messages as they are and hides every other
failure behind a generic one.
"""

from __future__ import annotations

import re


class UserFacingError(Exception):
    """Bad input or an unavailable feature: the message says what to change and holds no server detail."""


_SEG = r"""[^\s'"`,;:()<>]"""
#: An absolute, home or Windows path, with any following space-separated parts that hold a separator.
_PATH = re.compile(rf"""(?<![\w.:/\\-])(?:[A-Za-z]:\\|~?/){_SEG}+(?: {_SEG}*[/\\]{_SEG}*)*""")


def without_paths(text: str) -> str:
    """``text`` with file-system paths replaced by ``<path>``: a message about the server's own files
    (an index that cannot be opened) must not tell a remote caller where they live. URLs are kept."""
    return _PATH.sub("<path>", text)
