"""How a session's user is loaded on every request."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class UserWithUnitBackend(ModelBackend):
    """Django's ModelBackend, loading the user's unit in the same query: every page names it."""

    def get_user(self, user_id):
        users = get_user_model()._default_manager.select_related("unit")
        try:
            user = users.get(pk=user_id)
        except users.model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
