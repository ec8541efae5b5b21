// The signed-in app's feeds: like, boost and bookmark without leaving the page. The forms work without
// this script (they post and come back); with it, the same POST is sent with fetch and the button and
// its count change in place.
"use strict";
(() => {
  const token = (form) => {
    const field = form.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
  };
  const COUNTS = { favourite: "favourites_count", reblog: "reblogs_count" };
  const STATES = { favourite: "favourited", reblog: "reblogged", bookmark: "bookmarked" };
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("act") || !window.fetch) return;
    event.preventDefault();
    const button = form.querySelector("button");
    if (button) button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json", "X-CSRF-Token": token(form) },
        credentials: "same-origin",
      });
      if (!response.ok) { form.submit(); return; }
      const body = await response.json();
      const action = form.dataset.action;
      const pressed = Boolean(body[STATES[action]]);
      form.action = form.action.replace(/[a-z]+$/, pressed ? form.dataset.undo : action);
      if (button) button.setAttribute("aria-pressed", pressed ? "true" : "false");
      const count = form.querySelector(".count");
      if (count && COUNTS[action] in body) count.textContent = String(body[COUNTS[action]]);
    } catch (error) {
      form.submit();
    } finally {
      if (button) button.disabled = false;
    }
  });
})();
