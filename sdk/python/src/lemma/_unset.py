"""A default that tells "not given" apart from None (None is a value an input can have)."""

from __future__ import annotations

import enum


class Unset(enum.Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset.UNSET
