import re

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.validators import MaxLengthValidator

from .models import PersonalToken
from .services import RECOVERY_CODE_SHAPE, TOKEN_LIFETIMES_DAYS, code_normalised


def _helper(label: str, *, css_class: str = "") -> FormHelper:
    helper = FormHelper()
    helper.add_input(Submit("submit", label, css_class=css_class))
    return helper


def _check_username_length(form: AuthenticationForm) -> None:
    # Django sets the field's max_length for the HTML attribute only; without the check, an
    # over-long name reaches django-axes, whose column is 255 characters, and fails there (a 500).
    username = form.fields["username"]
    username.validators.append(MaxLengthValidator(username.max_length))


class LoginForm(AuthenticationForm):
    """The password step. LoginView passes it the request, which django-axes needs to count
    failures by address and to refuse a locked-out name or address."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        _check_username_length(self)
        self.helper = _helper("Sign in", css_class="w-100")


class AdminLoginForm(AdminAuthenticationForm):
    """The admin site's own sign-in page (accounts/admin.py sets it), with the same length check."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        _check_username_length(self)


CODE_HELP = "The 6-digit code from your authenticator app, or one of your recovery codes."
CODE_SHAPE = "Enter the 6 digits your authenticator app shows, or a recovery code of 8 letters and digits."


class CodeForm(forms.Form):
    """A second-step code: 6 digits from the authenticator app or, if allowed, a recovery code.

    The form checks the shape only; `accounts.services` checks the code against the devices.
    Spaces and dashes are ignored, and recovery codes are not case-sensitive ("7kqf m3xr" is
    "7KQF-M3XR").
    """

    code = forms.CharField(
        label="Code",
        max_length=40,
        help_text=CODE_HELP,
        error_messages={
            "required": "Enter the code from your authenticator app, or a recovery code.",
            "max_length": CODE_SHAPE,
        },
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}),
    )

    def __init__(self, *args, allow_recovery: bool = True, submit: str = "Continue", **kwargs):
        super().__init__(*args, **kwargs)
        self.allow_recovery = allow_recovery
        if not allow_recovery:
            self.fields["code"].help_text = "The 6-digit code that your authenticator app shows."
            self.fields["code"].widget.attrs["inputmode"] = "numeric"
        self.helper = _helper(submit)

    def clean_code(self) -> str:
        code = code_normalised(self.cleaned_data["code"])
        if re.fullmatch(r"\d{6}", code):
            return code
        if self.allow_recovery and RECOVERY_CODE_SHAPE.fullmatch(code):
            return code
        if not self.allow_recovery:
            raise forms.ValidationError("Enter the 6 digits that your authenticator app shows.")
        raise forms.ValidationError(CODE_SHAPE)


class PasswordConfirmForm(forms.Form):
    """Asks again for the password before a change to the second step.

    The password is checked through `authenticate()`, so that wrong guesses count towards the
    same lockout as the sign-in page.
    """

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Enter your password to confirm."},
    )

    def __init__(self, *args, request, submit: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.helper = _helper(submit)

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        user = self.request.user
        checked = authenticate(self.request, username=user.get_username(), password=password)
        if checked is None or checked.pk != user.pk:
            raise forms.ValidationError("That password is not right.")
        return password


class CrispyPasswordChangeForm(PasswordChangeForm):
    """Django's password change, checked by AUTH_PASSWORD_VALIDATORS, rendered with crispy.

    The old password is checked through `authenticate()`, as on the sign-in page, so that wrong
    guesses from a session left open count towards the same lockout (Django's own form asks the
    user object directly, which django-axes never sees).
    """

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.helper = _helper("Change password")

    def clean_old_password(self) -> str:
        password = self.cleaned_data["old_password"]
        checked = authenticate(self.request, username=self.user.get_username(), password=password)
        if checked is None or checked.pk != self.user.pk:
            raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return password


class TokenForm(forms.Form):
    """A new personal API token: what it is for, how long it lives, and whether it may change records."""

    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="What will use it, for example “Infusion agency sync”.",
        error_messages={"required": "Name the token after what will use it."},
    )
    days = forms.TypedChoiceField(
        label="Expires after",
        coerce=int,
        choices=[(days, f"{days} days") for days in TOKEN_LIFETIMES_DAYS],
        initial=90,
    )
    scope = forms.ChoiceField(
        label="Scope",
        choices=PersonalToken.Scope.choices,
        initial=PersonalToken.Scope.READ,
        widget=forms.RadioSelect,
        help_text="Read only unless the system must change records (complete or claim tasks, act on handoffs): "
        "a token that only reads can do no harm if it leaks.",
        error_messages={
            "required": "Choose what the token may do: read only, or read and write.",
            "invalid_choice": "Choose what the token may do: read only, or read and write.",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Make a token")
