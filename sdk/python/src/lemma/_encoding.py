"""How values become span attributes: text as is, anything else as JSON."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import uuid
from typing import Any


def to_text(value: Any) -> str:
    """A string unchanged; anything else JSON-encoded (see `to_json`)."""
    if isinstance(value, str):
        return value
    return to_json(value)


def to_json(value: Any) -> str:
    """JSON for any value. Never raises: what JSON cannot hold is converted (models, dataclasses,
    dates, bytes) or, as a last resort, written as its `repr`."""
    try:
        return json.dumps(value, default=_jsonable, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        # Circular references or a converter that failed: keep something readable.
        return json.dumps(repr(value), ensure_ascii=False)


def to_plain(value: Any) -> Any:
    """`value` as plain JSON data (dicts, lists, strings, numbers), for building payloads."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    try:
        return to_plain(_jsonable(value))
    except (ValueError, TypeError, RecursionError):
        return repr(value)


def _jsonable(value: Any) -> Any:
    """`json.dumps`'s fallback for what it cannot encode itself."""
    # Pydantic v2, then v1 (OpenAI's response objects are pydantic models).
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        try:
            return model_dump(mode="json")
        except TypeError:
            return model_dump()
    as_dict = getattr(value, "dict", None)
    if callable(as_dict) and hasattr(value, "__fields__"):
        return as_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        # Payloads are for reading, not for carrying binary data.
        return f"<{len(bytes(value))} bytes>"
    if isinstance(value, uuid.UUID):
        return str(value)
    return repr(value)
