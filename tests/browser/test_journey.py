"""The whole story in a real browser, as a new member lives it: sign up -> sign in -> generate from a
prompt, watching the progress events arrive -> post -> see it on the profile grid and the post page ->
another account remixes it with the Remix button -> the member reports the remix -> a moderator
resolves the report -> sign out and look at the public pages. Then the same pages at 360 px.

Screenshots of every page go to test-artifacts/screenshots/journey-*.png; the fixtures fail the test on
any console error (a script error, a Content-Security-Policy violation), failed request or unexpected
HTTP error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import PASSWORD, Browsing, no_horizontal_scroll, shoot, sign_in
from tests.support.server import FedigenServer

NEWBIE_PASSWORD = "newbie's long password"
PROMPT = "a lighthouse on a cliff at dusk"
# Every EventSource of the page writes the events it receives to sessionStorage, which outlives the
# reload the composer's script does when the job ends: the test then reads what the browser received.
RECORD_EVENTS = """
(() => {
  const Original = window.EventSource;
  if (!Original) return;
  window.EventSource = function (url, options) {
    const source = new Original(url, options);
    for (const name of ["progress", "done", "failed"]) {
      source.addEventListener(name, (event) => {
        const seen = JSON.parse(sessionStorage.getItem("sse-events") || "[]");
        seen.push([name, JSON.parse(event.data)]);
        sessionStorage.setItem("sse-events", JSON.stringify(seen));
      });
    }
    return source;
  };
})();
"""


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedigenServer]:
    """A real `fedigen serve` with open sign-ups and two rules, no mail (the operator confirms), the owner
    ``admin`` (who moderates) and a member ``bea`` (who remixes)."""
    server = FedigenServer(tmp_path_factory.mktemp("journey"))
    server.cli("init", "--url", server.base_url)
    rules = '\nregistrations = "open"\nrules = ["Be kind.", "Label what you did not make."]\n'
    server.config.write_text(server.config.read_text().replace("[instance]\n", "[instance]" + rules, 1))
    with server:
        server.cli("account", "create", "admin", "--role", "owner", "--password-stdin", stdin=PASSWORD)
        server.cli("account", "create", "bea", "--password-stdin", stdin=PASSWORD)
        yield server


def _generate(page: Any, prompt: str | None) -> list[Any]:
    """Fill the composer (small images), start the job, wait for its images; the events received."""
    page.evaluate("sessionStorage.removeItem('sse-events')")
    if prompt is not None:
        page.fill("#prompt", prompt)
    page.select_option("#size", "256x256")
    with page.expect_navigation():
        page.click("form.composer[action='/compose'] button[type=submit]")
    assert "/compose/jobs/" in page.url
    page.wait_for_selector("text=Pick the images to post", timeout=60_000)
    events: list[Any] = page.evaluate("JSON.parse(sessionStorage.getItem('sse-events') || '[]')")
    return events


def _sign_out(page: Any) -> None:
    page.click("text=Sign out")
    page.wait_for_url("**/")


def test_the_journey_of_a_new_member(desktop: Browsing, web_server: FedigenServer) -> None:
    desktop.context.add_init_script(RECORD_EVENTS)
    # Sign up, on an open instance with rules to accept.
    page: Any = desktop.open("/auth/sign_up")
    assert page.locator(".rules li").count() == 2
    shoot(page, "journey-01-sign-up")
    page.fill("#username", "newbie")
    page.fill("#email", "newbie@mail.test")
    page.fill("#password", NEWBIE_PASSWORD)
    page.fill("#password_confirmation", NEWBIE_PASSWORD)
    page.check("#agreement")
    with page.expect_navigation():
        page.click("form[action='/auth/sign_up'] button[type=submit]")
    assert "Welcome, @newbie" in page.locator("main").inner_text()
    assert "confirmed" in web_server.cli("account", "confirm", "newbie").stdout  # no mail: the operator

    # Sign in and make a picture from a prompt, watching its progress.
    sign_in(page, "newbie", NEWBIE_PASSWORD, then="/compose")
    shoot(page, "journey-02-compose")
    events = _generate(page, PROMPT)
    names = [name for name, _ in events]
    assert names and names[-1] == "done" and names.count("done") == 1, events
    assert "progress" in names and events[-1][1]["progress"] == 100
    shoot(page, "journey-03-pick")
    assert page.input_value("#text") == PROMPT  # the caption, pre-filled from the prompt
    page.fill("#text", "Dusk at the cape #lighthouse")
    with page.expect_navigation():
        page.click("form.composer button[type=submit]")
    assert "/@newbie/" in page.url
    post_path = page.url.removeprefix(web_server.base_url)
    assert page.locator(f"img[alt='{PROMPT}']").count() >= 1
    assert page.locator(".ai-label").count() == 1
    shoot(page, "journey-04-post-page")

    # On the profile grid.
    page.goto("/@newbie")
    tile = page.locator(f".tile a[href$='{post_path}']")
    assert tile.count() == 1
    shoot(page, "journey-05-profile-grid")

    # Another account remixes it from the Remix button on the post page.
    _sign_out(page)
    sign_in(page, "bea", then=post_path)
    page.click("a.remix")
    page.wait_for_selector("text=Remixing")
    assert page.input_value("#prompt") == PROMPT  # the parent's public prompt
    page.fill("#prompt", f"{PROMPT}, in snow")
    events = _generate(page, None)
    assert events and events[-1][0] == "done"
    with page.expect_navigation():
        page.click("form.composer button[type=submit]")
    assert "/@bea/" in page.url
    remix_path = page.url.removeprefix(web_server.base_url)
    assert page.locator("main").get_by_text("Remix of", exact=True).count() == 1
    assert page.locator(f".family a[href$='{post_path}']").count() >= 1  # the parent as a thumbnail
    shoot(page, "journey-06-remix-page")
    # Liking from the federated feed changes the button and its count in place (the page's script).
    page.goto("/public")
    like = page.locator(f"#post-{post_path.rsplit('/', 1)[1]} form.act[data-action='favourite'] button")
    like.click()
    page.wait_for_selector(f"#post-{post_path.rsplit('/', 1)[1]} button[aria-pressed='true']")
    assert like.locator(".count").inner_text() == "1"

    # The member reports the remix.
    _sign_out(page)
    sign_in(page, "newbie", NEWBIE_PASSWORD, then=remix_path)
    page.click("a[href$='/report']")
    page.check("input[name=category][value=other]")
    page.fill("#comment", "Not what I wanted to see")
    with page.expect_navigation():
        page.click("form[action$='/report'] button[type=submit]")
    assert page.locator("main h1").inner_text() == "Thank you"
    shoot(page, "journey-07-reported")

    # A moderator resolves it.
    _sign_out(page)
    sign_in(page, "admin", then="/admin/reports")
    page.click("text=Report #")
    assert "Not what I wanted to see" in page.locator("main").inner_text()
    shoot(page, "journey-08-report")
    with page.expect_navigation():
        page.click("form[action$='/resolve'] button[type=submit]")
    assert "Resolved" in page.locator("dl.facts").inner_text()

    # Signed out, the public pages.
    _sign_out(page)
    public = {"profile": "/@newbie", "post": post_path, "remix": remix_path, "explore": "/explore",
              "tag": "/tags/lighthouse", "local": "/public/local"}  # fmt: skip
    for name, path in public.items():
        page.goto(path)
        assert page.locator("main").count() == 1, path
        shoot(page, f"journey-09-public-{name}")
    page.goto(post_path)
    assert page.locator("a.remix").count() == 0  # the actions are for signed-in viewers


def test_the_same_pages_fit_a_phone(phone: Browsing, web_server: FedigenServer) -> None:
    page: Any = phone.open("/auth/sign_up")
    assert no_horizontal_scroll(page)
    sign_in(page, "admin", then="/home")
    for path in ("/home", "/for-you", "/public", "/compose", "/notifications", "/search?q=admin",
                 "/bookmarks", "/admin/reports", "/@newbie", "/explore", "/public/local"):  # fmt: skip
        page.goto(path)
        shoot(page, "journey-phone" + path.replace("/", "-").replace("?", "-").replace("=", "-"))
        assert no_horizontal_scroll(page), path
