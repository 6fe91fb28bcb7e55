"""Fixtures for the real-browser tests: one JupyterLab and one Chromium, a fresh page each.

Every test in this directory is marked ``browser`` (``pytest -m "not browser"`` skips
them). Without Playwright or Chromium the tests are skipped, or fail under ``CI=true``.
On a failure the page is saved as ``test-artifacts/browser/failures/<test>.png`` with its
console log; the server log is ``test-artifacts/browser/jupyter-server.log``.

Playwright's sync API leaves its event loop registered as the *running* loop of the main
thread between calls, which breaks ``asyncio.run`` and every async test. So Chromium is
closed as soon as the run leaves this directory, not at the end of the session.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lab
import pytest
from lab import ARTIFACTS, LabServer, Notebook

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

HERE = Path(__file__).resolve().parent
_CHROMIUM: pytest.StashKey[_Chromium] = pytest.StashKey()
_REPORTS: pytest.StashKey[dict[str, pytest.TestReport]] = pytest.StashKey()


def _in_here(item: pytest.Item) -> bool:
    return HERE in Path(item.path).resolve().parents


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _in_here(item):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Iterator[None]:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    try:
        return (yield)
    finally:
        chromium = item.config.stash.get(_CHROMIUM, None)
        if chromium is not None and (nextitem is None or not _in_here(nextitem)):
            chromium.close()


def pytest_unconfigure(config: pytest.Config) -> None:
    chromium = config.stash.get(_CHROMIUM, None)
    if chromium is not None:
        chromium.close()


class _Chromium:
    """Playwright and one Chromium, started on first use and closed by the hooks above.

    Closing also takes Playwright's loop off the main thread, so async tests run again.
    """

    def __init__(self) -> None:
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self.launched_in = 0.0

    def get(self) -> Browser:
        if self._browser is None:
            executable = _require_browser()
            from playwright.sync_api import sync_playwright

            began = time.perf_counter()
            self._playwright = sync_playwright().start()
            try:
                self._browser = lab.launch_chromium(self._playwright, executable)
            except Exception:
                self.close()
                raise
            self.launched_in = time.perf_counter() - began
        return self._browser

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
            self._browser = None
        if self._playwright is not None:
            self._playwright.stop()
            self._playwright = None


def _chromium(config: pytest.Config) -> _Chromium:
    return config.stash.setdefault(_CHROMIUM, _Chromium())


def _require_browser() -> Path:
    """Chromium's path, once Playwright imports; else skip (fail under ``CI=true``)."""
    executable = lab.chromium_path()
    reason = None
    if not executable.is_file():
        reason = f"no Chromium at {executable} (run `make browser`, or set FLOWNB_CHROMIUM)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError as exc:
            reason = f"Playwright is not installed ({exc}); pip install -e '.[test]'"
    if reason is not None:
        if lab.in_ci():
            pytest.fail(f"browser tests cannot run under CI=true: {reason}", pytrace=False)
        pytest.skip(reason)
    return executable


@pytest.fixture
def browser(pytestconfig: pytest.Config) -> Browser:
    """The session's headless Chromium (skips, or fails under CI=true, when unavailable)."""
    return _chromium(pytestconfig).get()


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
               ) -> Iterator[LabServer]:
    """One JupyterLab for the session, on 127.0.0.1, rooted in a temporary directory."""
    _require_browser()  # no server for tests that are going to be skipped
    shutil.rmtree(ARTIFACTS / "failures", ignore_errors=True)  # from an earlier session
    server = lab.start_lab(tmp_path_factory.mktemp("jupyterlab"),
                       log_path=ARTIFACTS / "jupyter-server.log")
    try:
        _chromium(pytestconfig).get()  # Chromium starts while the server boots
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    print(f"\nJupyterLab answered {server.ready_in:.2f} s after its start (Chromium launched "
          f"in {_chromium(pytestconfig).launched_in:.2f} s meanwhile): {server.url}")
    yield server
    server.stop()


@pytest.fixture
def page(browser: Browser, lab_server: LabServer, request: pytest.FixtureRequest
         ) -> Iterator[Page]:
    """A page in a fresh browser context; its kernels are shut down afterwards.

    A JavaScript dialog (``alert`` and co.) in any page of the context fails the test:
    nothing here should open one.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    console: list[str] = []
    dialogs: list[str] = []
    context.on("console", lambda msg: console.append(f"[{msg.type}] {msg.text}"))
    context.on("weberror", lambda err: console.append(f"[pageerror] {err.error}"))

    def on_dialog(dialog: Any) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    context.on("dialog", on_dialog)
    yield page
    # The theme is a JupyterLab setting the server keeps: a test that switched to the dark
    # theme must not leave the next test's pages (and screenshots) dark.
    with contextlib.suppress(Exception):
        page.evaluate("() => window.jupyterapp && window.jupyterapp.commands.execute("
                      "'apputils:change-theme', {theme: 'JupyterLab Light'})")
        page.wait_for_timeout(300)
    reports = request.node.stash.get(_REPORTS, {})
    if any(r.failed for r in reports.values()):
        failures = ARTIFACTS / "failures"
        failures.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        try:
            page.screenshot(path=failures / f"{name}.png", full_page=True)
        except Exception as exc:  # the page may be gone; the log still helps
            console.append(f"[harness] no screenshot: {exc}")
        (failures / f"{name}.console.txt").write_text("\n".join(console), encoding="utf-8")
    context.close()
    lab_server.shutdown_kernels()
    if dialogs:
        pytest.fail(f"the page opened JavaScript dialogs: {dialogs}")


@pytest.fixture
def open_notebook(page: Page, lab_server: LabServer, request: pytest.FixtureRequest
                  ) -> Callable[..., Notebook]:
    """``open_notebook(name, **options)``: :func:`lab.open_notebook` on this test's page."""
    folder = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    opened = 0

    def open_(name: str | Path, **options: Any) -> Notebook:
        nonlocal opened
        opened += 1
        options.setdefault("folder", f"{folder}-{opened}")
        return lab.open_notebook(page, lab_server, name, **options)

    return open_


@pytest.fixture
def expect(browser: Browser) -> Any:
    """Playwright's ``expect`` (auto-retrying assertions on locators and pages).

    It retries for up to 15 s (Playwright's default is 5 s): kernels and JupyterLab share
    the machine with the test, and a busy CI runner is slow.
    """
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    return expect
