"""End-to-end tests: each scenario (scenarios.py) runs as its own program, as a user's agent
would, against a real `lemma serve`; the tests then read what it recorded through the REST API.

crates/lemma-cli/tests/integration/sdk_python.rs runs them with these variables set:

* LEMMA_URL, LEMMA_API_KEY  the server under test and its key
* LEMMA_URL_2               a second server with the same key (the other end of dual export)
* OPENAI_BASE_URL           the fake OpenAI API (tests/compat/fake_llm.py)
"""

from __future__ import annotations

from typing import Any

import pytest
from e2e_support import SCENARIOS, Api, Scenario, require_env, run_program


@pytest.fixture(scope="session")
def api() -> Api:
    return Api(require_env("LEMMA_URL"), require_env("LEMMA_API_KEY"))


@pytest.fixture(scope="session")
def api2() -> Api:
    return Api(require_env("LEMMA_URL_2"), require_env("LEMMA_API_KEY"))


@pytest.fixture(scope="session")
def scenario(api: Api) -> Any:
    """`scenario(name, *args, env={...})` runs one function of scenarios.py as a program."""
    require_env("OPENAI_BASE_URL")

    def run(name: str, *args: str, env: dict[str, str] | None = None) -> Scenario:
        return run_program([str(SCENARIOS), name, *args], env)

    return run
