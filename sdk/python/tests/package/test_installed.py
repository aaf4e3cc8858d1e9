"""The SDK under test is the built wheel installed in this interpreter's environment, not the
source tree: scripts/sdk-python-setup builds sdk/python into a wheel and installs it in
.cache/sdk/python-venv, and every other test imports that installed `lemma`. These tests fail if
`lemma` comes from sdk/python/src (an editable install, PYTHONPATH, a pytest `pythonpath`
setting) or from a wheel of another version."""

from __future__ import annotations

import json
import re
import sys
import sysconfig
from importlib.metadata import distribution
from pathlib import Path

import lemma

SDK = Path(__file__).resolve().parents[2]
SOURCE = SDK / "src"


def pyproject_version() -> str:
    """`version` of the [project] table of sdk/python/pyproject.toml."""
    text = (SDK / "pyproject.toml").read_text(encoding="utf-8")
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        project = text.split("\n[project]\n", 1)[1].split("\n[", 1)[0]
        found = re.search(r'^version\s*=\s*"([^"]+)"', project, re.MULTILINE)
        assert found, "no version in the [project] table of pyproject.toml"
        return found.group(1)
    return str(tomllib.loads(text)["project"]["version"])


def site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"]).resolve()


def test_runs_in_a_virtual_environment() -> None:
    assert sys.prefix != sys.base_prefix, f"{sys.executable} is not a venv's interpreter"
    assert site_packages().is_relative_to(Path(sys.prefix).resolve()), site_packages()


def test_lemma_is_imported_from_site_packages_not_the_source_tree() -> None:
    module = Path(lemma.__file__).resolve()
    assert module.is_relative_to(site_packages()), (
        f"lemma was imported from {module}, not from {site_packages()}"
    )
    assert not module.is_relative_to(SOURCE), f"lemma was imported from the source tree: {module}"
    assert module == site_packages() / "lemma" / "__init__.py"
    # Every module of the package, not only its __init__.
    for name, loaded in sys.modules.items():
        if name == "lemma" or name.startswith("lemma."):
            path = Path(loaded.__file__ or "").resolve()
            assert path.is_relative_to(site_packages() / "lemma"), f"{name} from {path}"


def test_installed_from_a_wheel() -> None:
    dist = distribution("lemma-sdk")
    direct_url = json.loads(dist.read_text("direct_url.json") or "null")
    assert direct_url is not None, "lemma-sdk was not installed from a file (no direct_url.json)"
    # A wheel gives `archive_info`; `pip install -e` or of a folder gives `dir_info`.
    assert "dir_info" not in direct_url, f"installed from a directory: {direct_url}"
    assert "archive_info" in direct_url, direct_url
    assert direct_url["url"].endswith(f"/lemma_sdk-{pyproject_version()}-py3-none-any.whl"), (
        direct_url["url"]
    )
    assert (dist.read_text("WHEEL") or "").find("Root-Is-Purelib: true") >= 0


def test_installed_version_is_the_pyproject_version() -> None:
    version = pyproject_version()
    assert distribution("lemma-sdk").version == version
    assert lemma.__version__ == version


def test_installed_files_are_the_package_and_its_metadata() -> None:
    dist = distribution("lemma-sdk")
    files = sorted(str(f) for f in dist.files or [])
    package = sorted(f for f in files if f.startswith("lemma/") and not f.endswith(".pyc"))
    sources = sorted(
        f"lemma/{p.relative_to(SOURCE / 'lemma').as_posix()}"
        for p in (SOURCE / "lemma").rglob("*")
        if p.is_file() and p.suffix != ".pyc"
    )
    # Exactly the source package's files (py.typed included), so nothing is missing from or
    # added to the wheel.
    assert package == sources
    assert "lemma/py.typed" in package
    others = [
        f
        for f in files
        if not f.startswith(("lemma/", "lemma_sdk-")) and "__pycache__" not in f
    ]
    assert others == [], f"the wheel installs more than the package: {others}"
    # Installed means copied: the same bytes as the source, in site-packages.
    for f in package:
        installed = Path(str(dist.locate_file(f))).resolve()
        assert installed.is_relative_to(site_packages()), installed
        assert installed.read_bytes() == (SOURCE / f).read_bytes(), (
            f"{installed} differs from {SOURCE / f}: run scripts/sdk-python-setup"
        )


def test_metadata() -> None:
    meta = distribution("lemma-sdk").metadata
    assert meta["Name"] == "lemma-sdk"
    assert meta["Requires-Python"] == ">=3.9"
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta["Summary"]
    assert meta["Description-Content-Type"] == "text/markdown"
    assert (meta.get_payload() or "").startswith("# lemma-sdk"), "the README is the description"
    requires = [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
    names = sorted(re.split(r"[<>=!~; ]", r, maxsplit=1)[0] for r in requires)
    assert names == [
        "opentelemetry-api",
        "opentelemetry-exporter-otlp-proto-http",
        "opentelemetry-sdk",
    ]
    for r in requires:
        assert ">=" in r, f"{r} has no lower bound"
