"""The browser suite's fixtures: ``make airflow``'s stack in a temporary home, Chromium driven by Playwright.

Playwright cannot download its own browser here: it drives Debian's ``chromium`` (``.ci/run`` installs it
when absent). Without it every browser test skips with one line naming the missing browser.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("REDSHIFT_S3_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "browser-screenshots"
DAG_IDS = {"redshift_s3_setup", "s3_to_redshift_manual", "s3_to_redshift_daily"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dag_ids(port: int) -> set[str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/dags", timeout=10) as response:
        return {dag["dag_id"] for dag in json.loads(response.read())["dags"]}


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Return the system Chromium, or skip: Playwright's own browser download is not possible here."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def airflow_ui(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run ``airflow-redshift-s3 airflow`` (what ``make airflow`` runs) and return the UI's base URL."""
    import psutil

    home = tmp_path_factory.mktemp("airflow-ui")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "REDSHIFT_S3_", "AWS_"))}
    cli = Path(sys.executable).with_name("airflow-redshift-s3")
    output = home / "airflow.out"
    with output.open("w") as log:
        process = subprocess.Popen(
            [str(cli), "airflow", "--home", str(home / "home"), "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 300
        while True:
            assert process.poll() is None, output.read_text()[-3000:]
            try:
                if _dag_ids(port) >= DAG_IDS:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"Airflow did not list {sorted(DAG_IDS)} in 300 s: {output.read_text()[-3000:]}")
            time.sleep(2)
        yield f"http://127.0.0.1:{port}"
    finally:
        children = psutil.Process(process.pid).children(recursive=True) if process.poll() is None else []
        os.kill(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=90)
        finally:
            _, alive = psutil.wait_procs(children, timeout=30)
            for leftover in alive:
                leftover.kill()


@pytest.fixture(scope="module")
def browser_context(chromium: Path) -> Iterator[Any]:
    """One Chromium per module (its cache keeps the UI's 7 MB script after the first page).

    Not per session: Playwright's sync API keeps an asyncio loop running in this thread until it stops,
    and the async tests that run after this module need the thread without one.
    """
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(60_000)
        yield context
        browser.close()


@pytest.fixture
def page(browser_context: Any) -> Iterator[Any]:
    """A fresh tab."""
    tab = browser_context.new_page()
    yield tab
    tab.close()


@pytest.fixture
def screenshot(page: Any) -> Any:
    """Save the page as browser-screenshots/<name>.png, for a person to look at."""

    def save(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
