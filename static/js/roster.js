// The roster form: "Add a shift" appends a row made from the formset's empty form, whose
// prefix placeholder becomes the next index (Django's formset management form counts them).
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("add-shift");
  if (!button) return;
  button.addEventListener("click", () => {
    const total = document.getElementById("id_shift-TOTAL_FORMS");
    const html = document.getElementById("shift-template").innerHTML.replaceAll("__prefix__", total.value);
    document.getElementById("shift-rows").insertAdjacentHTML("beforeend", html);
    total.value = Number(total.value) + 1;
  });
});
