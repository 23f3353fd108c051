"""Personal API tokens on the Security page: make one (its secret shown once), revoke one."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from ..forms import TokenForm
from ..models import PersonalToken
from ..services import token_create, token_revoke
from ..signin import log_event
from .mfa import security_page


@never_cache
@require_POST
def token_new(request):
    form = TokenForm(request.POST)
    form.helper.form_action = reverse("token_new")
    if not form.is_valid():
        return security_page(request, token_form=form)
    try:
        token, secret = token_create(
            user=request.user,
            name=form.cleaned_data["name"],
            days=form.cleaned_data["days"],
            scope=form.cleaned_data["scope"],
            second_step_passed=request.user.is_verified(),
            actor=request.user,
        )
    except PermissionDenied as refused:
        messages.error(request, str(refused))
        return redirect("security")
    except ValidationError as invalid:
        form.add_error(None, invalid)  # at "name", "days" or "scope", or above the form
        return security_page(request, token_form=form)
    log_event(request, "api_token_made", token=token.pk, scope=token.scope)
    return render(request, "accounts/token_made.html", {"token": token, "secret": secret})


@require_POST
def token_revoke_view(request, pk):
    token = get_object_or_404(PersonalToken, pk=pk, user=request.user)
    token_revoke(token=token, actor=request.user)
    log_event(request, "api_token_revoked", token=token.pk)
    messages.success(request, f"The token “{token.name}” is revoked: it stops working at its next request.")
    return redirect("security")
