// Task rows swapped by htmx keep the user's place (My work, the event page).
//
// - A row replaced after an action (claim, done, not applicable, verify, undo) takes the focus
//   back: to its first field with an error, else to the row itself, so that a keyboard or
//   screen-reader user is not thrown to the top of the page.
// - A list that reloads itself after a change (data-keeps-input) keeps, in the other rows, what
//   was typed or chosen, the "Not applicable…" and "Undo…" panels that were open, and the focus,
//   instead of resetting them to the server's empty forms.
(function () {
  "use strict";

  function isChoice(field) {
    return field.type === "radio" || field.type === "checkbox";
  }

  // The key of a field: its row and its name (a radio or checkbox also by its value).
  function fieldKey(field) {
    const row = field.closest(".task-row");
    if (!row || !field.name) return null;
    return row.id + "|" + field.name + (isChoice(field) ? "|" + field.value : "");
  }

  // The key of a panel (<details>): its row and its place among the row's panels.
  function panelKeys(list) {
    const keys = new Map();
    list.querySelectorAll(".task-row").forEach((row) => {
      row.querySelectorAll("details").forEach((panel, index) => keys.set(panel, row.id + "|" + index));
    });
    return keys;
  }

  function isChanged(field) {
    if (isChoice(field)) return field.checked !== field.defaultChecked;
    if (field.tagName === "SELECT") {
      return Array.from(field.options).some((option) => option.selected !== option.defaultSelected);
    }
    return field.value !== field.defaultValue;
  }

  // What the user had going in each reloading list, by the list's id, from before its swap to after.
  const kept = new Map();

  function keep(list) {
    const state = { values: new Map(), open: new Set(), focus: null };
    list.querySelectorAll("input, select, textarea").forEach((field) => {
      const key = fieldKey(field);
      if (key && isChanged(field)) state.values.set(key, isChoice(field) ? field.checked : field.value);
    });
    panelKeys(list).forEach((key, panel) => panel.open && state.open.add(key));
    const active = document.activeElement;
    if (list.contains(active)) state.focus = active.classList.contains("task-row") ? active.id : fieldKey(active);
    return state;
  }

  function restore(list, state) {
    panelKeys(list).forEach((key, panel) => {
      if (state.open.has(key)) panel.open = true;
    });
    let focused = false;
    list.querySelectorAll("input, select, textarea").forEach((field) => {
      const key = fieldKey(field);
      if (key && state.values.has(key)) {
        if (isChoice(field)) field.checked = state.values.get(key);
        else field.value = state.values.get(key);
      }
      if (key && key === state.focus) {
        field.focus();
        focused = document.activeElement === field;
      }
    });
    if (state.focus && !focused) {
      // The focused row itself, or, when it has left the list (done), the list's counts.
      const row = document.getElementById(state.focus.split("|")[0]);
      (row || list.querySelector("[data-list-summary]") || list).focus();
    }
  }

  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const list = event.detail.target;
    if (event.detail.shouldSwap && list && list.id && list.matches("[data-keeps-input]")) {
      kept.set(list.id, keep(list));
    }
  });

  document.body.addEventListener("htmx:afterSwap", (event) => {
    const list = event.detail.target;
    if (list && list.id && kept.has(list.id)) {
      restore(list, kept.get(list.id));
      kept.delete(list.id);
    }
  });

  document.body.addEventListener("htmx:afterSettle", (event) => {
    // A row swapped for its new self: the event comes from the new row.
    const row = event.detail.elt;
    if (!row || !row.classList || !row.classList.contains("task-row")) return;
    const invalid = row.querySelector("[aria-invalid='true']");
    (invalid || row).focus();
  });
})();
