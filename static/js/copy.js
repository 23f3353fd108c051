// A "Copy" button (data-copy="#list"): copies the list's items to the clipboard, one a line, and
// says so in the status beside it (data-copy-status). Hidden until this script shows it.
function copyBySelection(text) {
  // Without the Clipboard API (a page not served over HTTPS or from this computer).
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "position-fixed top-0 start-0 opacity-0";
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch (error) {
    copied = false;
  }
  area.remove();
  return copied;
}

document.querySelectorAll("[data-copy]").forEach((button) => {
  const source = document.querySelector(button.dataset.copy);
  if (!source) {
    return;
  }
  const status = button.parentElement.querySelector("[data-copy-status]");
  button.hidden = false;
  button.addEventListener("click", async () => {
    const items = source.querySelectorAll("li");
    const text = items.length
      ? Array.from(items, (item) => item.textContent.trim()).join("\n")
      : source.textContent.trim();
    let copied = false;
    try {
      await navigator.clipboard.writeText(text);
      copied = true;
    } catch (error) {
      copied = copyBySelection(text);
    }
    if (status) {
      status.textContent = copied ? "Copied." : "Could not copy: select the codes and copy them.";
    }
  });
});
