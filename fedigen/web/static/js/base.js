// Progressive enhancement shared by every page. Pages work without it; nothing here is required.
// Forms marked data-confirm ask before submitting (delete, block, sign out everywhere).
"use strict";
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
