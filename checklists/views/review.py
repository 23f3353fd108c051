"""A version's review page: what it changes (in words), what publishing it does to the upcoming
events unit by unit, its review history, and the steps the viewer may take (submit, approve,
return, publish in an emergency, review afterwards) through checklists.governance."""

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from .. import governance, policy
from ..compare import versions_compare
from ..forms import show_refusal
from ..impact import publication_impact
from ..models import TemplateVersion
from ..review_forms import STEP_FORMS
from ..services import template_version_validate
from .access import staff_required


def _step(request, version: TemplateVersion, action: str, form) -> TemplateVersion:
    """Take the step that the form asks for; ValidationError at the form's fields."""
    data, user = form.cleaned_data, request.user
    if action == "submit":
        return governance.template_version_submit(
            version=version, actor=user, change_summary=data["change_summary"], comment=data["comment"]
        )
    if action == "approve":
        return governance.template_version_approve(
            version=version, actor=user, comment=data["comment"], submission=data["submission"]
        )
    if action == "return":
        return governance.template_version_return(version=version, actor=user, comment=data["comment"])
    if action == "emergency":
        return governance.template_version_publish_in_emergency(
            version=version,
            actor=user,
            reason=data["comment"],
            seen=data["seen"],
            change_summary=data["change_summary"],
        )
    governance.template_version_review_after(version=version, actor=user, comment=data["comment"])
    return version


DONE = {
    "submit": "{name} v{number} is submitted for review. Another admin approves it or returns it to you.",
    "approve": "{name} v{number} is approved and published.",
    "return": "{name} v{number} is back to draft, with the comments in its history.",
    "emergency": "{name} v{number} is published without review; it is flagged until another admin reviews it.",
    "review_after": "Your review of {name} v{number} is recorded.",
}


def _offers(user, version: TemplateVersion, pending_after: bool) -> dict:
    """What the page offers the viewer: each step's decision (a refusal's reason is shown)."""
    return {
        "submit": policy.can_submit(user, version),
        "approve": policy.can_approve(user, version),
        "return": policy.can_return(user, version),
        "emergency": policy.can_publish_in_emergency(user, version),
        "review_after": policy.can_review_after(user, version, pending=pending_after),
        "discard": policy.can_discard(user, version),  # on its own page (views.library.version_discard)
    }


@staff_required
def version_review(request, pk):
    version = get_object_or_404(
        TemplateVersion.objects.select_related("template", "published_by").prefetch_related(
            "authors", "reviews__actor"
        ),
        pk=pk,
    )
    pending_after = governance.emergency_review_pending(version)
    forms = {action: form_class() for action, form_class in STEP_FORMS.items()}
    # What the page shows, read before the page itself (its changes, below): an edit that lands
    # in between is refused as unseen rather than published as seen.
    forms["approve"].initial["submission"] = forms["approve"].current(version)
    if version.is_unpublished:
        forms["emergency"].initial["seen"] = forms["emergency"].current(version)
    if version.change_summary:
        forms["submit"].initial["change_summary"] = version.change_summary
        forms["emergency"].initial["change_summary"] = version.change_summary
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action in STEP_FORMS:
        form = forms[action] = STEP_FORMS[action](request.POST)
        stepped = None
        try:
            if form.is_valid():
                stepped = _step(request, version, action, form)
            elif form.has_error(NON_FIELD_ERRORS, "not_shown"):
                # Who may not take the step is told so first, as after a complete post.
                _offers(request.user, version, pending_after)[action].enforce()
                form.shows(version)  # posted again from this page, it acts on what the page shows now
        except ValidationError as error:
            if any(e.code == "changed_meanwhile" for e in getattr(error, "error_list", ())):
                # The page showed another state of the version: it shows this one now, and says
                # so above what changed; posted again, the step acts on this one.
                form.shows(version)
                for message in error.messages:
                    messages.error(request, message)
            else:
                show_refusal(form, error)
                if not _offers(request.user, version, pending_after)[action]:
                    # The page shows no such form now (a stale tab): say it above the page.
                    for message in error.messages:
                        messages.error(request, message)
        if stepped is not None:
            messages.success(request, DONE[action].format(name=version.template.name, number=version.number))
            if stepped.is_editable:
                return redirect("checklists:draft_edit", pk=stepped.pk)
            return redirect("checklists:version_review", pk=stepped.pk)
    now = timezone.now()
    problems = []
    if version.is_unpublished:
        try:
            template_version_validate(version)
        except ValidationError as error:
            problems = error.messages
    published = version.template.versions.filter(status=TemplateVersion.Status.PUBLISHED).exclude(pk=version.pk)
    current = published.first()
    return render(
        request,
        "checklists/version_review.html",
        {
            "version": version,
            "current": current,
            "diff": versions_compare(current, version) if version.is_unpublished else None,
            "impact": publication_impact(version, now=now) if version.is_unpublished else None,
            "problems": problems,
            "history": version.reviews.all(),
            "authors": version.authors.all(),
            "forms": forms,
            "offers": _offers(request.user, version, pending_after),
            "pending_after": pending_after,
        },
    )
