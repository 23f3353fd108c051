// After an htmx swap that took away the element holding the focus (a handoff card's button, the
// event's reminders panel, the gate's folded list), the focus goes to what replaced it instead of
// falling to the top of the page, where a keyboard or screen-reader user would lose their place
// (WCAG 2.4.3). It goes to the first field with an error, else the first alert or status message
// (what the action did), else the first heading, else the first link (the polled bell), else the
// new content itself. Task rows (task-rows.js) and the template editor's items
// (template-editor.js) place it themselves.
(function () {
  "use strict";

  // Where the focus goes in the new content, the first of these that it holds.
  const PLACES = ["[aria-invalid='true']", "[role='alert'], [role='status']", "h1, h2, h3, h4", "a[href]"];

  // The ids of the swapped elements that held the focus, from before their swap to after it.
  const held = new Set();

  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    if (event.detail.shouldSwap && target && target.id && target.contains(document.activeElement)) {
      held.add(target.id);
    }
  });

  document.body.addEventListener("htmx:afterSettle", (event) => {
    const target = event.detail.target;
    if (!target || !target.id || !held.delete(target.id)) return;
    const active = document.activeElement;
    if (active && active !== document.body && active.isConnected) return; // placed already, or never lost
    const swapped = document.getElementById(target.id);
    if (!swapped) return;
    const place = PLACES.map((selector) => swapped.querySelector(selector)).find(Boolean) || swapped;
    if (!place.matches("input, select, textarea, button, a[href], [tabindex]")) place.setAttribute("tabindex", "-1");
    place.focus();
  });
})();
