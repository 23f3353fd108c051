// The checklist template editor (issue 20): what a script adds to pages that work without one.
//
// - "Done after" (partials/depends_on_field.html): a box that filters the draft's items by their
//   number or words; ticked items always stay in sight.
// - The draft's items table (partials/items_table.html): rows dragged by their handle (SortableJS);
//   the drop posts the new order to the server, which answers with the renumbered table (htmx swap).
//   The ↑ and ↓ buttons are the keyboard's way; after one is used, the focus comes back to the same
//   button of the moved item, so that a keyboard user can press it again.
// - Condition rows (partials/condition_row.html): a value typed or chosen while its field is
//   fetched again (after a change of fact or operator) is kept.
(function () {
  "use strict";

  function setUpDependencyFilter(picker) {
    const box = picker.querySelector("[data-dependency-filter-box]");
    const input = picker.querySelector("[data-dependency-filter]");
    const options = Array.from(picker.querySelectorAll("[data-dependency-option]"));
    const none = picker.querySelector("[data-dependency-none]");
    const status = picker.querySelector("[data-dependency-status]");
    if (!box || !input || options.length === 0) return;
    box.hidden = false;
    input.addEventListener("input", function () {
      const words = input.value.trim().toLowerCase().replace(/^#/, "").split(/\s+/).filter(Boolean);
      let shown = 0;
      options.forEach(function (option) {
        const label = option.textContent.trim().toLowerCase();
        const number = label.replace(/^#/, "").split(" ")[0];
        const checked = option.querySelector("input").checked;
        const matches = words.every(function (word) {
          return /^\d+$/.test(word) ? number === word || label.includes(word) : label.includes(word);
        });
        option.hidden = !(checked || matches);
        if (!option.hidden) shown += 1;
      });
      if (none) none.hidden = shown > 0;
      if (status) status.textContent = words.length ? shown + " of " + options.length + " items shown." : "";
    });
  }

  function setUpSorting(table) {
    const body = table.querySelector("tbody[data-reorder-url]");
    if (!body || typeof Sortable === "undefined" || body.dataset.sortable) return;
    body.dataset.sortable = "on";
    Sortable.create(body, {
      handle: ".drag-handle",
      draggable: "tr[data-item-id]",
      animation: 150,
      onEnd: function (event) {
        if (event.oldIndex === event.newIndex) return;
        const ids = Array.from(body.querySelectorAll("tr[data-item-id]"), function (row) {
          return row.dataset.itemId;
        });
        htmx.ajax("POST", body.dataset.reorderUrl, {
          target: "#items-table",
          swap: "outerHTML",
          values: { item: ids },
        });
      },
    });
  }

  // The ↑ or ↓ button last pressed: its item and direction, to take the focus back to after the swap.
  let moved = null;
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    const button = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent
      ? event.detail.requestConfig.triggeringEvent.submitter
      : null;
    moved = button && button.dataset.move ? { item: button.dataset.move, direction: button.value } : null;
  });
  document.body.addEventListener("htmx:afterSettle", function () {
    if (!moved) return;
    const buttons = document.querySelectorAll('#items-table button[data-move="' + moved.item + '"]');
    const same = Array.from(buttons).find(function (b) { return b.value === moved.direction && !b.disabled; });
    const other = Array.from(buttons).find(function (b) { return !b.disabled; });
    (same || other || document.querySelector("#items-table .table-responsive")).focus();
    moved = null;
  });

  // A condition's value field comes again from the server when its fact or operator changes; what
  // was typed or chosen in it meanwhile (the answer is not instant) is kept if the new field can
  // hold it: a box keeps the text, a list the option when it has that option.
  const VALUE_FIELD = 'input[type="text"], input[type="number"], select';
  function typedValue(slot) {
    const input = slot.querySelector(VALUE_FIELD);
    return input ? input.value : "";
  }
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    const slot = event.detail.target;
    if (slot && slot.classList.contains("condition-value")) slot.dataset.typed = typedValue(slot);
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    const slot = event.detail.target;
    if (!slot || !slot.classList.contains("condition-value") || !slot.dataset.typed) return;
    const input = slot.querySelector(VALUE_FIELD);
    const fits = input && (input.tagName !== "SELECT" || Array.from(input.options).some(function (option) {
      return option.value === slot.dataset.typed;
    }));
    if (fits && !input.value) input.value = slot.dataset.typed;
    delete slot.dataset.typed;
  });

  htmx.onLoad(function (root) {
    root.querySelectorAll("[data-dependency-picker]").forEach(setUpDependencyFilter);
    const tables = root.id === "items-table" ? [root] : root.querySelectorAll("#items-table");
    tables.forEach(setUpSorting);
  });
})();
