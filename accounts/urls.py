from django.urls import path

from .views import mfa, signin, tokens

urlpatterns = [
    path("login/", signin.LoginView.as_view(), name="login"),
    path("logout/", signin.LogoutView.as_view(), name="logout"),
    path("two-step/", mfa.mfa_verify, name="mfa_verify"),
    path("two-step/setup/", mfa.mfa_setup, name="mfa_setup"),
    path("security/", mfa.security, name="security"),
    path("security/recovery-codes/", mfa.mfa_recovery_codes, name="mfa_recovery_codes"),
    path("security/two-step/off/", mfa.mfa_turn_off, name="mfa_turn_off"),
    path("security/tokens/", tokens.token_new, name="token_new"),
    path("security/tokens/<int:pk>/revoke/", tokens.token_revoke_view, name="token_revoke"),
    path("security/password/", mfa.PasswordChangeView.as_view(), name="password_change"),
]
