"""The README's Data API example, run as written: it builds the operator and the Data API target it means."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[3] / "README.md"


def _example() -> str:
    text = README.read_text()
    section = text[text.index("### Without a network path: the Data API") :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the section lost its example"
    return match.group(1)


def test_the_readme_example_builds_a_data_api_load():
    namespace: dict = {}
    exec(compile(_example(), "README.md", "exec"), namespace)
    load = namespace["load"]
    target = load._data_api_target()
    assert (target.database, target.cluster_identifier, target.db_user) == ("dev", "my-cluster", "loader")
    assert str(target) == "cluster 'my-cluster', database 'dev'"
    assert load.validate().mode == "replace"
