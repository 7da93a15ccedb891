"""Paging of ordered scrolls, shared by both backends.

Qdrant returns no next-page offset when a scroll is ordered by a payload key, so the
next page starts from the last value seen (``start_from``, inclusive) and excludes
the ids already returned with that value. The cursor handed to the caller is an
opaque string carrying both; pages never repeat or skip a point while the data
does not change.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

from qdrant_client import models

from index.storage.base import StoreError

CURSOR_PREFIX = "ord1:"

# (filter, order_by with start_from, limit) -> records carrying order_value
Fetch = Callable[[models.Filter | None, models.OrderBy, int], Awaitable[list[models.Record]]]


def is_ordered_cursor(offset: Any) -> bool:
    return isinstance(offset, str) and offset.startswith(CURSOR_PREFIX)


def _encode(value: Any, ids: list[Any]) -> str:
    raw = json.dumps({"v": value, "ids": ids}, separators=(",", ":")).encode()
    return CURSOR_PREFIX + base64.urlsafe_b64encode(raw).decode()


def _decode(cursor: str) -> tuple[Any, list[Any]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor[len(CURSOR_PREFIX) :].encode()))
        return data["v"], list(data["ids"])
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"invalid scroll offset {cursor!r}: pass back the offset the previous page returned") from exc


async def ordered_page(
    fetch: Fetch,
    *,
    scroll_filter: models.Filter | None,
    limit: int,
    offset: str | None,
    order_by: models.OrderBy | str,
) -> tuple[list[models.Record], str | None]:
    """One page of an ordered scroll and the cursor of the next page (None at the end)."""
    if limit <= 0:
        raise StoreError(f"scroll limit must be positive, got {limit}")
    order = models.OrderBy(key=order_by) if isinstance(order_by, str) else order_by
    seen_value: Any = None
    seen_ids: list[Any] = []
    flt = scroll_filter
    if offset is not None:
        if not is_ordered_cursor(offset):
            raise StoreError("this offset comes from an unordered scroll; an ordered scroll must start without offset")
        seen_value, seen_ids = _decode(offset)
        order = order.model_copy(update={"start_from": seen_value})
        exclusion = models.HasIdCondition(has_id=seen_ids)
        flt = models.Filter(must=[scroll_filter] if scroll_filter else None, must_not=[exclusion])
    records = await fetch(flt, order, limit + 1)
    page = records[:limit]
    if len(records) <= limit or not page:
        return page, None
    last = page[-1].order_value
    same = [r.id for r in page if r.order_value == last]
    if offset is not None and seen_value == last:
        same = seen_ids + same
    return page, _encode(last, same)
