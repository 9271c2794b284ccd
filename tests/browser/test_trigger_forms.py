"""The example DAGs' trigger forms, used as a person uses them: in Chromium, on ``make airflow``'s stack.

The tests run in file order on one stack: ``redshift_s3_setup`` first attaches the role the loads use, as
the README tells a newcomer to do. Each step leaves a screenshot in browser-screenshots/.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.browser

RUN_URL = re.compile(r".*/dags/[^/]+/runs/[^/]+$")
RUN_TIMEOUT_MS = 240_000


def _open_form(page: Any, base: str, dag_id: str) -> Any:
    page.goto(f"{base}/dags/{dag_id}")
    page.get_by_role("button", name="Trigger").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Run Parameters").wait_for()
    return dialog


def _choose(page: Any, name: str, option: str) -> None:
    """Pick an option of a select field of the form (the UI's select is a combobox, not a <select>)."""
    page.locator(f"#element_{name}").click()
    page.get_by_role("option", name=option, exact=True).click()


def _submit_and_wait(page: Any, dialog: Any) -> str:
    """Click the form's Trigger; return the run's final state as the run page shows it."""
    from playwright.sync_api import expect

    dialog.get_by_role("button", name="Trigger").click()
    page.wait_for_url(RUN_URL)
    badge = page.get_by_test_id("header-card").get_by_test_id("state-badge")
    expect(badge).to_have_text(re.compile("Success|Failed"), timeout=RUN_TIMEOUT_MS)
    return badge.inner_text().strip()


@pytest.mark.parametrize(
    "dag_id", ["redshift_s3_setup", "s3_to_redshift_manual", "s3_to_redshift_daily"]
)  # setup first: it attaches the role the two loads use
def test_the_form_defaults_succeed(airflow_ui, page, screenshot, dag_id):
    dialog = _open_form(page, airflow_ui, dag_id)
    screenshot(f"{dag_id}-1-form")
    state = _submit_and_wait(page, dialog)
    screenshot(f"{dag_id}-2-run")
    assert state == "Success"


def test_a_malformed_value_is_refused_in_the_form_naming_the_field(airflow_ui, page, screenshot):
    dialog = _open_form(page, airflow_ui, "s3_to_redshift_manual")
    page.locator("#element_bucket").fill("My-Bucket")
    dialog.get_by_role("button", name="Trigger").click()
    message = dialog.get_by_text("Invalid input for param bucket")
    message.wait_for()
    message.scroll_into_view_if_needed()  # the dialog scrolls on its own: show what a person reads
    screenshot("s3_to_redshift_manual-3-malformed-bucket")
    assert "'My-Bucket' does not match" in message.inner_text()
    # The rule in words is under the field itself.
    assert dialog.get_by_text("3-63 lowercase letters, digits, dots and hyphens").is_visible()
    assert not RUN_URL.match(page.url)  # no run was created


def test_inconsistent_values_fail_the_first_task_and_its_log_shows_every_fix(airflow_ui, page, screenshot):
    dialog = _open_form(page, airflow_ui, "s3_to_redshift_manual")
    page.locator("#element_partition_value").fill("")
    _choose(page, "format", "parquet")
    state = _submit_and_wait(page, dialog)
    screenshot("s3_to_redshift_manual-4-run-failed")
    assert state == "Failed"
    page.goto(page.url + "/tasks/validate_request")
    fixes = [
        "Fix: fill 'Partition value', or choose another 'Load mode'",
        "Fix: set 'Compression' to none",
    ]
    for fix in fixes:
        line = page.get_by_text(fix).first
        line.wait_for()
        box = line.bounding_box()
        # Where it is read first: the fix starts inside the window, not beyond its right edge.
        assert box and 0 <= box["x"] < page.viewport_size["width"] / 2, box
    screenshot("s3_to_redshift_manual-5-log-with-the-fixes")
