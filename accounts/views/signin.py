"""The password step, sign-out, and the lockout page."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import render
from django.utils.decorators import method_decorator

from ..forms import LoginForm
from ..services import user_sessions_end
from ..signin import log_event, second_step, second_step_not_required, step_url


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    """The password step; then the second step if the user has an authenticator or must have one."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_success_url(self):
        url = super().get_success_url()
        step = second_step(self.request.user)
        return step_url(step, url) if step else url


@method_decorator(second_step_not_required, name="dispatch")
class LogoutView(auth_views.LogoutView):
    """Sign-out ends every session of the user, in every browser, not only this one.

    A session that has not passed the second step (someone with the password alone) ends
    only itself: it may not sign the real user out of their work.
    """

    def post(self, request, *args, **kwargs):
        user = request.user
        everywhere = user.is_authenticated and second_step(user) is None
        if everywhere:
            user_sessions_end(user=user, actor=user)
            log_event(request, "sign_out_everywhere")
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You are signed out" + (", in this browser and in any other." if everywhere else "."))
        return response


def locked_out(request, original_response=None, credentials=None):
    """The page django-axes shows instead of the sign-in form when a name or address is locked."""
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": settings.SIGNIN_LOCKOUT_MINUTES,
        "contact": settings.SIGNIN_HELP_CONTACT,
    }
    return render(request, "accounts/locked_out.html", context, status=429)
