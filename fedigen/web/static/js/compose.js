// Live progress of a generation job: server-sent events from /compose/jobs/ID/events, or, where
// EventSource is missing or the stream breaks, polling /compose/jobs/ID/status. When the job ends the
// page is loaded again and shows the images (or what went wrong). Without this script the page's
// "Check progress" link does the same by hand.
"use strict";
(() => {
  const box = document.getElementById("job-progress");
  if (!box) return;
  const bar = document.getElementById("job-bar");
  const stateText = document.getElementById("job-state");
  const percentText = document.getElementById("job-percent");
  let finished = false;
  let events = 0;

  const show = (state) => {
    const percent = Number(state.progress) || 0;
    if (bar) bar.value = percent;
    if (percentText) percentText.textContent = String(percent);
    if (stateText) stateText.textContent = String(state.state || "");
    box.dataset.seen = String(++events);
  };
  const finish = () => {
    if (finished) return;
    finished = true;
    window.location.reload();
  };
  const poll = async () => {
    while (!finished) {
      try {
        const response = await fetch(box.dataset.status, { headers: { Accept: "application/json" } });
        if (response.ok) {
          const state = await response.json();
          show(state);
          if (state.finished) { finish(); return; }
        }
      } catch (error) { /* try again */ }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  };
  if (!window.EventSource) { poll(); return; }
  const source = new EventSource(box.dataset.events);
  source.addEventListener("progress", (event) => show(JSON.parse(event.data)));
  for (const name of ["done", "failed", "cancelled"]) {
    source.addEventListener(name, (event) => {
      show(JSON.parse(event.data));
      source.close();
      finish();
    });
  }
  source.onerror = () => {
    if (finished) return;
    source.close();
    poll();
  };
})();
