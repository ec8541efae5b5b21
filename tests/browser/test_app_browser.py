"""The signed-in app in a real browser: compose from a prompt watching the progress events arrive, post,
see the post on the profile grid and its page, remix it from another account with the Remix button; and
the app's pages at phone width."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import PASSWORD, Browsing, no_horizontal_scroll, shoot, sign_in

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


def test_compose_post_and_remix_in_the_browser(desktop: Browsing, web_server: Any) -> None:
    web_server.cli("account", "create", "bea", "--password-stdin", stdin=PASSWORD)
    desktop.context.add_init_script(RECORD_EVENTS)
    page = desktop.open("/auth/sign_in")
    sign_in(page, "admin", then="/compose")
    shoot(page, "app-compose-desktop")
    events = _generate(page, "a lighthouse on a cliff at dusk")
    # The browser received the job's progress as server-sent events, then one done event.
    names = [name for name, _ in events]
    assert names and names[-1] == "done" and names.count("done") == 1, events
    assert "progress" in names and events[-1][1]["progress"] == 100
    shoot(page, "app-pick-desktop")
    assert page.input_value("#text") == "a lighthouse on a cliff at dusk"  # the caption, pre-filled
    page.fill("#text", "Dusk at the cape")
    with page.expect_navigation():
        page.click("form.composer button[type=submit]")
    assert "/@admin/" in page.url
    post_url = page.url
    shoot(page, "app-post-page-desktop")
    assert page.locator("img[alt='a lighthouse on a cliff at dusk']").count() >= 1
    page.goto("/@admin")
    assert page.locator("img[alt='a lighthouse on a cliff at dusk']").count() >= 1  # on the profile grid
    # Liking from the feed changes the button and the count in place (the script's fetch).
    page.goto("/public")
    like = page.locator("form.act[data-action='favourite'] button").first
    like.click()
    page.wait_for_selector("form.act[data-action='favourite'] button[aria-pressed='true']")
    assert like.locator(".count").inner_text() == "1"
    shoot(page, "app-federated-desktop")

    # Another account remixes it from the Remix button.
    page.click("text=Sign out")
    page.wait_for_url("**/")
    sign_in(page, "bea", then="/public")
    page.click("article.post a.remix")
    page.wait_for_selector("text=Remixing")
    assert page.input_value("#prompt") == "a lighthouse on a cliff at dusk"  # the parent's public prompt
    shoot(page, "app-remix-compose-desktop")
    page.fill("#prompt", "a lighthouse on a cliff at dusk, in snow")
    events = _generate(page, None)
    assert events and events[-1][0] == "done"
    with page.expect_navigation():
        page.click("form.composer button[type=submit]")
    assert "/@bea/" in page.url
    page.goto("/home")
    remix = page.locator("article.post").first
    assert remix.get_by_text("Remix of").count() == 1
    assert remix.locator(f"a[href='{post_url}']").count() == 1
    shoot(page, "app-home-with-remix-desktop")
    page.goto("/for-you")
    shoot(page, "app-for-you-desktop")


def test_app_pages_fit_a_phone(phone: Browsing) -> None:
    page = phone.open("/auth/sign_in")
    sign_in(page, "admin", then="/home")
    for path, name in (
        ("/home", "home"),
        ("/for-you", "for-you"),
        ("/public", "federated"),
        ("/compose", "compose"),
        ("/notifications", "notifications"),
        ("/search?q=admin", "search"),
        ("/bookmarks", "bookmarks"),
    ):
        page.goto(path)
        shoot(page, f"app-{name}-phone")
        assert no_horizontal_scroll(page), path
