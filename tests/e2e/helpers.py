"""Small page helpers shared by the browser tests; they find things as a user would, by role and name."""

import re

import pytest


def task_button(page, action: str, task: str):
    """A task's action button ("Claim", "Done", "Verify"), named "<action>: <task text>" for screen readers."""
    return page.get_by_role("button", name=re.compile(rf"^{action}\s*:\s*{re.escape(task)}$"))


def press_tab_until_focused(page, target, *, limit: int = 200) -> int:
    """Tab through the page, as a keyboard user does, until `target` has the focus; the presses it took."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return presses
    pytest.fail(f"{target} never got the focus in {limit} presses of Tab")


def sideways_scroll(page) -> str:
    """Empty when the page fits its window; otherwise how wide it is and the outermost elements that stick out."""
    return page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            const scrollWidth = document.documentElement.scrollWidth;
            if (scrollWidth <= width) return "";
            const sticksOut = element => element.getBoundingClientRect().right > width + 1;
            const outermost = [...document.querySelectorAll("body *")]
                .filter(element => sticksOut(element) && !sticksOut(element.parentElement))
                .map(element => element.outerHTML.slice(0, 120));
            return `${scrollWidth} px wide in a ${width} px window; sticking out: ${outermost.join(" | ")}`;
        }"""
    )


def tables_wider_than_their_box(page, selector: str = ".table-responsive") -> list[str]:
    """Each table box (`selector`) whose table scrolls sideways inside it: its caption and both widths."""
    return page.evaluate(
        """selector => [...document.querySelectorAll(selector)]
            .filter(box => box.offsetParent !== null && box.scrollWidth > box.clientWidth)
            .map(box => {
                const name = box.querySelector("caption")?.textContent.trim();
                return `${name}: ${box.scrollWidth} px in ${box.clientWidth} px`;
            })""",
        selector,
    )


def lines_of(locator) -> int:
    """How many lines the element's text takes on screen (its line boxes' distinct tops)."""
    return locator.evaluate(
        """element => {
            const range = document.createRange();
            range.selectNodeContents(element);
            return new Set(Array.from(range.getClientRects(), rect => Math.round(rect.top))).size;
        }"""
    )
