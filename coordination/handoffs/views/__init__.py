"""The handoff pages, by screen: pages.py (the list, preparing and editing, the handoff and its
printout), actions.py (the steps, posted from the handoff's card), review.py (the coordinator's
queue)."""
