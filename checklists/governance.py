"""A draft's way to publication: submitted, approved by a second admin (which publishes it) or
returned with comments; or, in an emergency, published by one admin with a reason and reviewed
by another afterwards. A new template's first version from the starter library is installed
without review (`template_version_install`), and said so. Who may take each step is
checklists.policy's answer; each step is kept in the version's review history (TemplateReview,
append-only) and in the audit log. A draft that nobody will finish is discarded
(`template_version_discard`) with a reason, which frees the template for a new draft or an import.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.audit import audited

from . import policy
from .models import ChecklistAuditAction, ChecklistTemplate, TemplateReview, TemplateVersion
from .services import template_version_fingerprint, template_version_publish, template_version_validate

EMERGENCY_REASON_MIN = 20
COMMENT_MAX = 2000
DRAFT_CHANGED_SINCE_SHOWN = "This draft changed after you opened it: read the changes below again before publishing."


def _locked(version: TemplateVersion) -> TemplateVersion:
    """The version read again under its template's lock (as the editing services take it), so
    that a step and an edit or another step never interleave."""
    ChecklistTemplate.objects.select_for_update(no_key=True).get(pk=version.template_id)
    return TemplateVersion.objects.select_related("template", "published_by").get(pk=version.pk)


def _comment(text: str, *, required: str = "", minimum: int = 0, field: str = "comment") -> str:
    text = (text or "").strip()
    if required and len(text) < max(minimum, 1):
        raise ValidationError({field: required})
    if len(text) > COMMENT_MAX:
        raise ValidationError({field: f"Keep it under {COMMENT_MAX:,} characters."})
    return text


def _record(version: TemplateVersion, step: str, actor, comment: str, now: dt.datetime) -> TemplateReview:
    return TemplateReview.objects.create(version=version, step=step, actor=actor, at=now, comment=comment)


def emergency_review_pending(version: TemplateVersion) -> bool:
    """Published alone in an emergency, and nobody has reviewed it since."""
    steps = {review.step for review in version.reviews.all()}
    return TemplateReview.Step.EMERGENCY in steps and TemplateReview.Step.REVIEWED_AFTER not in steps


def latest_submission(version: TemplateVersion) -> int | None:
    """The id of the version's newest submission for review: the one its review page shows (the
    page sends it back with an approval)."""
    submitted = (review.pk for review in version.reviews.all() if review.step == TemplateReview.Step.SUBMITTED)
    return max(submitted, default=None)


def versions_awaiting_review_after() -> "list[TemplateVersion]":
    """Emergency publications that nobody has reviewed yet, oldest first (for the template list)."""
    reviewed = TemplateReview.objects.filter(step=TemplateReview.Step.REVIEWED_AFTER).values("version_id")
    return list(
        TemplateVersion.objects.filter(reviews__step=TemplateReview.Step.EMERGENCY)
        .exclude(pk__in=reviewed)
        .select_related("template", "published_by")
        .order_by("published_at")
    )


@audited(ChecklistAuditAction.SUBMIT)
@transaction.atomic
def template_version_submit(
    *, version: TemplateVersion, actor, change_summary: str, comment: str = "", now: dt.datetime | None = None
) -> TemplateVersion:
    """Submit a draft for review with what changed; it stays unchanged until it is approved or
    returned. Refused when it would not publish (the same checks as publication)."""
    now = now or timezone.now()
    version = _locked(version)
    policy.can_submit(actor, version).enforce()
    summary = (change_summary or "").strip()
    if not summary:
        raise ValidationError({"change_summary": "Say what changed: the reviewer and the version history read it."})
    if len(summary) > 500:
        raise ValidationError({"change_summary": "Keep it under 500 characters."})
    template_version_validate(version)
    version.status = TemplateVersion.Status.IN_REVIEW
    version.change_summary = summary
    version.save(update_fields=["status", "change_summary"])
    version.authors.add(actor)  # who submits answers for it, as its writers do
    _record(version, TemplateReview.Step.SUBMITTED, actor, _comment(comment), now)
    return version


@audited(ChecklistAuditAction.RETURN_DRAFT)
@transaction.atomic
def template_version_return(
    *, version: TemplateVersion, actor, comment: str, now: dt.datetime | None = None
) -> TemplateVersion:
    """Send a submitted draft back to be edited, with the reviewer's comments."""
    now = now or timezone.now()
    version = _locked(version)
    policy.can_return(actor, version).enforce()
    text = _comment(comment, required="Say what should change, so that the author can act on it.")
    version.status = TemplateVersion.Status.DRAFT
    version.save(update_fields=["status"])
    _record(version, TemplateReview.Step.RETURNED, actor, text, now)
    return version


@audited(ChecklistAuditAction.APPROVE)
@transaction.atomic
def template_version_approve(
    *,
    version: TemplateVersion,
    actor,
    comment: str = "",
    submission: int | None = None,
    now: dt.datetime | None = None,
) -> TemplateVersion:
    """A second admin approves a submitted draft, which publishes it (checklists.impact says
    beforehand what that does to the upcoming events). `submission`: the submission that the
    approver read (`latest_submission`); if the draft was returned and submitted again since,
    they read it again before anything is published."""
    now = now or timezone.now()
    version = _locked(version)
    policy.can_approve(actor, version).enforce()
    if submission is not None and submission != latest_submission(version):
        raise ValidationError(
            "The draft was returned and submitted again since you opened this page: "
            "read what changes now, then approve.",
            code="changed_meanwhile",
        )
    text = _comment(comment)
    published = template_version_publish(version=version, actor=actor, now=now)
    _record(published, TemplateReview.Step.APPROVED, actor, text, now)
    return published


@audited(ChecklistAuditAction.EMERGENCY_PUBLISH)
@transaction.atomic
def template_version_publish_in_emergency(
    *,
    version: TemplateVersion,
    actor,
    reason: str,
    seen: str,
    change_summary: str = "",
    now: dt.datetime | None = None,
) -> TemplateVersion:
    """One admin publishes without a review, saying why; the version is flagged until another
    admin has reviewed it. `seen`: the draft's fingerprint (services.template_version_fingerprint)
    as the publisher read it. Nobody reviews this publication before it reaches the patients, and
    a draft that is not in review can be edited by any admin meanwhile: what changed since is
    refused (code "changed_meanwhile"), to be read first. Required, so that no caller skips it."""
    now = now or timezone.now()
    version = _locked(version)  # the editing services take this lock: no edit lands between check and publication
    policy.can_publish_in_emergency(actor, version).enforce()
    if seen != template_version_fingerprint(version):
        raise ValidationError(DRAFT_CHANGED_SINCE_SHOWN, code="changed_meanwhile")
    text = _comment(
        reason,
        required=f"Write at least {EMERGENCY_REASON_MIN} characters: why this cannot wait for a second admin.",
        minimum=EMERGENCY_REASON_MIN,
    )
    summary = (change_summary or "").strip() or version.change_summary
    if not summary:
        raise ValidationError({"change_summary": "Say what changed: the version history reads it."})
    published = template_version_publish(version=version, actor=actor, change_summary=summary, now=now)
    _record(published, TemplateReview.Step.EMERGENCY, actor, text, now)
    return published


@audited(ChecklistAuditAction.REVIEW_AFTER)
@transaction.atomic
def template_version_review_after(
    *, version: TemplateVersion, actor, comment: str = "", now: dt.datetime | None = None
) -> TemplateReview:
    """Another admin reviews an emergency publication (what they found goes in the comment; a
    correction is a new draft)."""
    now = now or timezone.now()
    version = _locked(version)
    policy.can_review_after(actor, version, pending=emergency_review_pending(version)).enforce()
    return _record(version, TemplateReview.Step.REVIEWED_AFTER, actor, _comment(comment), now)


@audited(ChecklistAuditAction.INSTALL)
@transaction.atomic
def template_version_install(
    *, version: TemplateVersion, actor=None, change_summary: str, now: dt.datetime | None = None
) -> TemplateVersion:
    """Publish a new template's first version as the installation's content (the starter library
    loaded into an installation that has none of it), without review; its history says so, by
    `actor` (the admin who loads it; None: the system). Later versions go through review."""
    now = now or timezone.now()
    version = _locked(version)
    policy.can_install(actor, version).enforce()
    published = template_version_publish(version=version, actor=actor, change_summary=change_summary, now=now)
    _record(published, TemplateReview.Step.INSTALLED, actor, "", now)
    return published


DISCARD_REASON_REQUIRED = "Say why the draft is discarded: its history keeps the reason for the next author."


@audited(ChecklistAuditAction.DISCARD)
@transaction.atomic
def template_version_discard(
    *, version: TemplateVersion, actor, reason: str, now: dt.datetime | None = None
) -> TemplateVersion:
    """Abandon a draft, saying why: the template has no draft afterwards, so a new draft, an
    import or a starter-library update can follow. Refused for a draft in review (it is returned
    to draft first: its reviewer may be reading it) and for any version that is not a draft.

    The version is kept, marked discarded, rather than deleted: its review history (a draft
    that was submitted and returned has one; TemplateReview is append-only and protects its
    version) must survive, and the reason is kept there too, as one more step, where the
    template's page lists every step. One path for every draft, whether it was ever submitted or
    not, keeps the version numbers unique for ever (an export named v3 is never another v3)
    and needs no deletion: a discarded version never changes (the models and, on PostgreSQL,
    the triggers refuse changes to it and its items) and is never instantiated (only published
    versions are)."""
    now = now or timezone.now()
    ChecklistTemplate.objects.select_for_update(no_key=True).get(pk=version.template_id)
    # The version row too: whoever takes it first (a submit, a publication, this) wins, and the
    # other reads the status that it left and is refused with what to do instead.
    version = (
        TemplateVersion.objects.select_for_update(no_key=True, of=("self",))
        .select_related("template")
        .get(pk=version.pk)
    )
    policy.can_discard(actor, version).enforce()
    text = _comment(reason, required=DISCARD_REASON_REQUIRED, field="reason")
    version.status = TemplateVersion.Status.DISCARDED
    version.save(update_fields=["status"])
    _record(version, TemplateReview.Step.DISCARDED, actor, text, now)
    return version
