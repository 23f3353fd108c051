"""The forms of a draft's review page: submit, approve, return, publish in an emergency, review
afterwards; and the form that discards a draft. Each validates at its field and saves nothing;
the views call checklists.governance."""

from crispy_forms.helper import FormHelper
from django import forms

from .governance import COMMENT_MAX, DISCARD_REASON_REQUIRED, EMERGENCY_REASON_MIN

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


class ApproveForm(_StepForm):
    action = "approve"
    comment = forms.CharField(
        label="Approval note", required=False, max_length=COMMENT_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )
    # The submission shown on the page (governance.latest_submission): what is approved.
    submission = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ReturnForm(_StepForm):
    action = "return"
    comment = forms.CharField(
        label="Comments for the author",
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What should change before it is approved. An author may also withdraw a draft here to edit it.",
    )


class EmergencyPublishForm(_StepForm):
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
