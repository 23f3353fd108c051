"""The forms of a draft's review page: submit, approve, return, publish in an emergency, review
afterwards; and the form that discards a draft. Each validates at its field and saves nothing;
the views call checklists.governance."""

from crispy_forms.helper import FormHelper
from django import forms

from .governance import COMMENT_MAX, DISCARD_REASON_REQUIRED, EMERGENCY_REASON_MIN, latest_submission
from .models import TemplateVersion
from .services import template_version_fingerprint

SUMMARY_HELP = "Shown to the reviewer and in the version history, for example “Dexamethasone item now for adults only”."


class _StepForm(forms.Form):
    """A step's form, named (and prefixed) by its action; the page writes its button."""

    action = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", self.action)
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True


class SubmitForReviewForm(_StepForm):
    action = "submit"
    change_summary = forms.CharField(
        label="What changed", max_length=500, widget=forms.Textarea(attrs={"rows": 2}), help_text=SUMMARY_HELP
    )
    comment = forms.CharField(
        label="Note to the reviewer",
        required=False,
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional: why the change, what to look at.",
    )


class _ShownForm(_StepForm):
    """A step that acts on what the page showed: its hidden field `shown` says which state of the
    version that was. Required: without it the service could not tell a stale page; a post
    without it (an old page, a client) is answered above the form, as the hidden field has no
    place of its own on the page."""

    shown = ""
    not_shown = ""

    def clean(self):
        data = super().clean()
        if data.get(self.shown) in (None, ""):  # missing, or not a value the page writes
            raise forms.ValidationError(self.not_shown, code="not_shown")
        return data

    def shows(self, version: TemplateVersion) -> None:
        """The page shows the version as it is now (after a refusal because it was not what the
        page had shown): a second post acts on this, knowingly."""
        self.data = self.data.copy()
        self.data[self.add_prefix(self.shown)] = self.current(version)

    def current(self, version: TemplateVersion):
        raise NotImplementedError


class ApproveForm(_ShownForm):
    action = "approve"
    comment = forms.CharField(
        label="Approval note", required=False, max_length=COMMENT_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )
    # The submission shown on the page (governance.latest_submission): what is approved.
    submission = forms.IntegerField(required=False, widget=forms.HiddenInput)
    shown = "submission"
    not_shown = "This page did not say which submission you read: read the changes below, then approve again."

    def current(self, version: TemplateVersion):
        return latest_submission(version)


class ReturnForm(_StepForm):
    action = "return"
    comment = forms.CharField(
        label="Comments for the author",
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What should change before it is approved. An author may also withdraw a draft here to edit it.",
    )


class EmergencyPublishForm(_ShownForm):
    action = "emergency"
    change_summary = forms.CharField(
        label="What changed", max_length=500, widget=forms.Textarea(attrs={"rows": 2}), help_text=SUMMARY_HELP
    )
    comment = forms.CharField(
        label="Why it cannot wait for a second admin",
        min_length=EMERGENCY_REASON_MIN,
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"At least {EMERGENCY_REASON_MIN} characters. The version is flagged until another admin reviews it.",
    )
    # The draft as the page showed it (services.template_version_fingerprint): what is published.
    seen = forms.CharField(required=False, widget=forms.HiddenInput)
    shown = "seen"
    not_shown = "This page did not say which state of the draft you read: read the changes below, then publish again."

    def current(self, version: TemplateVersion):
        return template_version_fingerprint(version)


class ReviewAfterForm(_StepForm):
    action = "review_after"
    comment = forms.CharField(
        label="What you found",
        required=False,
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="A correction is made as a new draft.",
    )


STEP_FORMS = {
    form.action: form for form in (SubmitForReviewForm, ApproveForm, ReturnForm, EmergencyPublishForm, ReviewAfterForm)
}


class DiscardDraftForm(forms.Form):
    """Why a draft is abandoned (its own page: checklists.views.library.version_discard)."""

    reason = forms.CharField(
        label="Why it is discarded",
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": DISCARD_REASON_REQUIRED,
            "max_length": f"Keep it under {COMMENT_MAX:,} characters.",
        },
        help_text="Kept in the version's history, with its items, for whoever writes the next draft.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
