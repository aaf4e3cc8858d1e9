"""The SDK's version: the one in pyproject.toml, read back from the installed distribution."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION: str = version("lemma-sdk")
except PackageNotFoundError:  # imported from a source tree that was never installed
    VERSION = "0+unknown"
