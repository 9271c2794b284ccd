"""setup.cfg claims only what is tested: each runtime dependency's lower bound is what `make test-lowest`
installs (constraints-lowest.txt), and the pinned set `make test` installs (constraints.txt) is allowed."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def requirements(section: str, key: str) -> list[Requirement]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config[section][key].splitlines()
    return [Requirement(line) for line in (raw.strip() for raw in lines) if line and not line.startswith("#")]


def pins(name: str) -> dict[str, Version]:
    found: dict[str, Version] = {}
    for line in (ROOT / name).read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            package, version = line.split("==")
            found[canonicalize_name(package)] = Version(version.strip())
    return found


# install_requires and the local extra (what a user's install or test double runs on); the test extra
# is this project's own tooling.
RUNTIME = requirements("options", "install_requires") + requirements("options.extras_require", "local")


def lower_bound(requirement: Requirement) -> Version | None:
    bounds = [Version(spec.version) for spec in requirement.specifier if spec.operator == ">="]
    return max(bounds) if bounds else None


@pytest.mark.parametrize("requirement", RUNTIME, ids=lambda r: r.name)
def test_every_runtime_dependency_has_a_tested_lower_bound(requirement):
    bound = lower_bound(requirement)
    assert bound is not None, f"setup.cfg: {requirement} has no lower bound; add the oldest tested version"
    lowest = pins("constraints-lowest.txt").get(canonicalize_name(requirement.name))
    assert lowest == bound, (
        f"constraints-lowest.txt pins {requirement.name}=={lowest}, but setup.cfg claims >={bound}: "
        "make the two agree and run make test-lowest"
    )


@pytest.mark.parametrize("requirement", RUNTIME, ids=lambda r: r.name)
def test_the_pinned_set_is_within_the_claimed_range(requirement):
    pinned = pins("constraints.txt").get(canonicalize_name(requirement.name))
    assert pinned is not None and requirement.specifier.contains(pinned), (
        f"constraints.txt pins {requirement.name}=={pinned}, outside setup.cfg's {requirement.specifier}"
    )
