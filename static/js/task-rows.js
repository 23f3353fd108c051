// Task rows swapped by htmx keep the user's place (My work, the event page).
//
// - A row replaced after an action (claim, done, not applicable, verify, undo) takes the focus
//   back: to its first field with an error, else to the row itself, so that a keyboard or
//   screen-reader user is not thrown to the top of the page.
// - A list that reloads itself after a change (data-keeps-input) keeps what was typed or chosen
//   in the other rows, and the focus, instead of resetting them to the server's empty forms.
(function () {
  "use strict";

  // The key of a field: its row and its name (a radio or checkbox also by its value).
  function fieldKey(field) {
    const row = field.closest(".task-row");
    if (!row || !field.name) return null;
    const choice = field.type === "radio" || field.type === "checkbox";
    return row.id + "|" + field.name + (choice ? "|" + field.value : "");
  }

  function isChanged(field) {
    if (field.type === "radio" || field.type === "checkbox") return field.checked !== field.defaultChecked;
    if (field.tagName === "SELECT") {
      return Array.from(field.options).some((option) => option.selected !== option.defaultSelected);
    }
    return field.value !== field.defaultValue;
  }

  function restore(field, value) {
    if (field.type === "radio" || field.type === "checkbox") field.checked = value;
    else field.value = value;
  }

  let kept = null;

  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    if (!target || !target.matches("[data-keeps-input]")) return;
    kept = { values: new Map(), focus: null };
    target.querySelectorAll("input, select, textarea").forEach((field) => {
      const key = fieldKey(field);
      if (key && isChanged(field)) {
        kept.values.set(key, field.type === "radio" || field.type === "checkbox" ? field.checked : field.value);
      }
    });
    const active = document.activeElement;
    if (target.contains(active)) kept.focus = active.classList.contains("task-row") ? active.id : fieldKey(active);
  });

  document.body.addEventListener("htmx:afterSettle", (event) => {
    const target = event.detail.target;
    if (kept && target && target.matches && target.matches("[data-keeps-input]")) {
      let focused = false;
      target.querySelectorAll("input, select, textarea").forEach((field) => {
        const key = fieldKey(field);
        if (key && kept.values.has(key)) restore(field, kept.values.get(key));
        if (key && key === kept.focus) focused = field.focus() || true;
      });
      if (kept.focus && !focused) {
        // The focused row itself, or, when it has left the list (done), the list's counts.
        const row = document.getElementById(kept.focus.split("|")[0]);
        (row || target.querySelector("[data-list-summary]") || target).focus();
      }
      kept = null;
      return;
    }
    // A row swapped for its new self: htmx hands over the old element, so find it again by id.
    const id = event.detail.elt && event.detail.elt.id;
    const row = id && id.startsWith("task-") ? document.getElementById(id) : null;
    if (!row || !row.classList.contains("task-row")) return;
    const invalid = row.querySelector("[aria-invalid='true']");
    if (invalid) {
      invalid.focus();
    } else {
      row.focus();
    }
  });
})();
