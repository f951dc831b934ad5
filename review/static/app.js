// Light progressive enhancement only; every action also works without JavaScript.
// No inline scripts anywhere: the Content-Security-Policy allows scripts from this file's origin alone.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // "Select all" for bulk actions in the queue.
  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", () => {
      document.querySelectorAll("input[name='post_id']").forEach((box) => { box.checked = all.checked; });
    });
  }
  // Keyboard: j/k move between posts in the queue, Enter opens the focused one.
  const rows = Array.from(document.querySelectorAll("[data-post-link]"));
  let current = -1;
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (target instanceof HTMLElement && ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) return;
    if (!rows.length) return;
    if (event.key === "j" || event.key === "k") {
      current = Math.max(0, Math.min(rows.length - 1, current + (event.key === "j" ? 1 : -1)));
      rows[current].focus();
      event.preventDefault();
    }
  });
});
