import logging

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django_otp.plugins.otp_static.admin import StaticDeviceAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from .admin_base import NoWrites
from .audit import audit_record
from .forms import AdminLoginForm
from .hooks import work_organisations
from .models import AuditEvent, Organisation, Role, Unit, User
from .services import (
    mfa_reset,
    user_deactivate,
    user_password_changed,
    user_signed_out_everywhere,
    user_standing_changed,
)
from .signin import log_event

# The admin's sign-in page refuses an over-long name at its field, as the site's does.
admin.site.login_form = AdminLoginForm


def _view_only(model, admin_class) -> None:
    """Show `model` in the admin as its app does, but never add, change or delete it there: these
    tables have no audit trigger, and their changes are made by logged actions instead."""

    class ViewOnly(NoWrites, admin_class):
        pass

    ViewOnly.__name__ = admin_class.__name__
    admin.site.unregister(model)
    admin.site.register(model, ViewOnly)


# Second-step devices: an authenticator added with a key of the admin's choosing, or one deleted,
# left no trace; "Reset two-step sign-in" (below) is the logged way. Failed sign-ins: deleting one
# lifted a lockout unlogged; "Unlock sign-in after failed attempts" is the logged way.
for _model, _admin_class in (
    (TOTPDevice, TOTPDeviceAdmin),
    (StaticDevice, StaticDeviceAdmin),
    (AccessAttempt, AccessAttemptAdmin),
):
    _view_only(_model, _admin_class)


def _permission_names(permissions) -> set[str]:
    return {f"{app}.{codename}" for app, codename in permissions.values_list("content_type__app_label", "codename")}


def _rights_changed(before: dict[str, set[str]], after: dict[str, set[str]]) -> dict[str, list[str]]:
    """What was added to and removed from each kind of right ({"groups": {...}, "permissions": {...}})."""
    changed = {}
    for kind in before:
        if added := sorted(after[kind] - before[kind]):
            changed[f"{kind}_added"] = added
        if removed := sorted(before[kind] - after[kind]):
            changed[f"{kind}_removed"] = removed
    return changed


def _user_rights(user: User) -> dict[str, set[str]]:
    if user.pk is None:
        return {"groups": set(), "permissions": set()}
    return {
        "groups": set(user.groups.values_list("name", flat=True)),
        "permissions": _permission_names(user.user_permissions),
    }


def _referred_to(obj) -> bool:
    """Whether any row, of any app, refers to `obj` (asked of each relation, named by none)."""
    return any(
        relation.related_model._base_manager.filter(**{relation.field.name: obj}).exists()
        for relation in obj._meta.related_objects
    )


class DeletedOnlyUnused:
    """An organisation or a unit is deleted here only while nothing refers to it. Django's delete
    page lists the rows a deletion takes or is refused by, each by its name: a unit's patients by
    name and MRN, to administrators, who see no patient record. So no delete page is offered for
    one in use, nor the bulk "delete selected", whose page lists them too."""

    def has_delete_permission(self, request, obj=None):
        if obj is not None and _referred_to(obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(Organisation)
class OrganisationAdmin(DeletedOnlyUnused, admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Unit)
class UnitAdmin(DeletedOnlyUnused, admin.ModelAdmin):
    list_display = ["name", "kind", "organisation", "time_zone"]
    list_filter = ["kind", "organisation"]
    search_fields = ["name"]

    def get_readonly_fields(self, request, obj=None):
        # A unit stays in its organisation: its patients, staff, grants and transfers are that
        # organisation's, and moving the unit alone would let the access checks, which compare
        # organisations, disagree with each other.
        if obj is None:
            return []
        # And keeps its kind once anything refers to it: a ward with patients made a home-health
        # agency, whose staff see patients only through a handoff's grant and which takes no
        # transfers, would leave its patients where no rule expects them.
        return ["organisation", "kind"] if _referred_to(obj) else ["organisation"]


DEACTIVATE_INSTEAD = (
    "Users are never deleted here: their history and their reminder ledger stay. Deactivate instead "
    "(untick Active): their sessions end, their tokens and calendar links stop working and their "
    "tasks go back to their teams."
)


class UserChangeForm(BaseUserChangeForm):
    def clean_unit(self):
        """A user stays in the organisation of the patients they have work with (care teams, grants,
        tasks): moved to another's unit, they kept seeing them. A user with none is placed anywhere."""
        unit = self.cleaned_data.get("unit")
        moved = unit is not None and unit.pk != self.instance.unit_id
        if moved and work_organisations(user=self.instance) - {unit.organisation_id}:
            raise ValidationError("A user stays in their organisation: give them an account there.")
        return unit


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "role", "unit", "is_staff", "is_active"]
    list_filter = ["role", "unit", "is_staff", "is_active"]
    list_select_related = ["unit"]
    fieldsets = (*BaseUserAdmin.fieldsets, ("Clinical role", {"fields": ("role", "unit")}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("Clinical role", {"fields": ("role", "unit")}))
    actions = ["deactivate", "sign_out_everywhere", "unlock_sign_in", "reset_two_step"]
    form = UserChangeForm

    def has_delete_permission(self, request, obj=None):
        # Deleting a user erased their reminder ledger and their care-team memberships with them.
        return False

    def has_change_permission(self, request, obj=None):
        # A superuser's account is changed by a superuser only: one allowed to change users could
        # otherwise set its password, or deactivate it, and so take or shut out the admin site.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None:
            kwargs["help_texts"] = {"is_active": DEACTIVATE_INSTEAD, **kwargs.get("help_texts", {})}
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Who may use the admin site, and for what, is given by a superuser only: a staff member
            # allowed to change users could otherwise make themselves one.
            fields += ["is_superuser", "groups", "user_permissions"]
        if obj is not None and obj.pk == request.user.pk:
            # As user_deactivate refuses: nobody deactivates their own account (the only admin
            # would lock everyone out), from the action or by unticking the box.
            fields.append("is_active")
        return fields

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        deactivated = change and "is_active" in form.changed_data and not obj.is_active
        if deactivated:
            # Unticking "active" ends their sessions and revokes their tokens too, as `deactivate` does.
            user_signed_out_everywhere(user=obj, actor=request.user)
            log_event(request, "sessions_ended", subject=obj, reason="deactivated")
        # Their claimed tasks go back to their teams, as `deactivate` gives them back: a role changed
        # mid-shift leaves the former role's tasks to those who hold it. (The change form saves in
        # one transaction: the user and their tasks together, or neither.)
        if deactivated:
            user_standing_changed(user=obj, actor=request.user, why="deactivated")
        elif change and "role" in form.changed_data:
            now = f"made {Role(obj.role).label.lower()}" if obj.role else "given no clinical role"
            user_standing_changed(user=obj, actor=request.user, why=now)

    def save_related(self, request, form, formsets, change):
        # Groups and permissions live in tables of their own, which no trigger logs: what the admin
        # site may be used for by this user is a permission change all the same.
        before = _user_rights(User.objects.get(pk=form.instance.pk)) if change else _user_rights(User())
        super().save_related(request, form, formsets, change)
        if changed := _rights_changed(before, _user_rights(form.instance)):
            log_event(request, "admin_rights_changed", subject=form.instance, **changed)

    @transaction.atomic  # the new password, the revoked tokens and the log's row, or none of them
    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:  # saved: the password is new
            user = self.get_object(request, unquote(id))
            user_password_changed(user=user, actor=request.user)
            # The hash never reaches the log (the table's trigger skips it): this is the change's row.
            log_event(request, "password_changed", subject=user)
        return response

    @admin.action(description="Deactivate the selected users and end their sessions")
    def deactivate(self, request, queryset):
        done = 0
        for user in queryset.filter(is_active=True):
            try:
                user_deactivate(user=user, actor=request.user)
            except ValidationError as error:
                self.message_user(request, f"{user.username}: {error.messages[0]}", messages.ERROR)
            else:
                log_event(request, "sessions_ended", subject=user, reason="deactivated")
                done += 1
        self.message_user(request, f"Deactivated {done} user(s); their sessions have ended.")

    @admin.action(description="Sign the selected users out everywhere and revoke their API tokens")
    def sign_out_everywhere(self, request, queryset):
        for user in queryset:
            user_signed_out_everywhere(user=user, actor=request.user)
            log_event(request, "sessions_ended", subject=user, reason="admin")
        self.message_user(request, f"Ended every session of {queryset.count()} user(s).")

    @admin.action(description="Unlock sign-in after failed attempts")
    def unlock_sign_in(self, request, queryset):
        removed = 0
        for user in queryset:
            removed += axes_reset(username=user.get_username())
            log_event(request, "unlocked", subject=user)
        self.message_user(
            request, f"Unlocked {queryset.count()} user name(s) ({removed} failed-attempt records removed)."
        )

    @admin.action(description="Reset two-step sign-in (lost phone and recovery codes)")
    def reset_two_step(self, request, queryset):
        for user in queryset:
            mfa_reset(user=user, actor=request.user)
            log_event(request, "second_step_reset", subject=user, level=logging.WARNING)
        self.message_user(
            request,
            f"Reset two-step sign-in of {queryset.count()} user(s). Those who must use it set it up at next sign-in.",
        )


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin):
    """A group's permissions are those of each of its members: a change to them, or the group's
    removal, is logged as a change to a user's would be."""

    def save_related(self, request, form, formsets, change):
        before = _permission_names(form.instance.permissions) if change else set()
        super().save_related(request, form, formsets, change)
        _log_group_rights(request, form.instance, before, _permission_names(form.instance.permissions))

    def delete_model(self, request, obj):
        self.delete_queryset(request, Group.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        held = [(group.pk, group.name, _permission_names(group.permissions)) for group in queryset]
        super().delete_queryset(request, queryset)
        for pk, name, permissions in held:
            _log_group_rights(request, Group(pk=pk, name=name), permissions, set(), deleted=True)


def _log_group_rights(request, group: Group, before: set[str], after: set[str], *, deleted: bool = False) -> None:
    changed = _rights_changed({"permissions": before}, {"permissions": after})
    if changed or deleted:
        audit_record(
            action=AuditEvent.Action.PERMISSION_CHANGE,
            object_type="auth.group",
            object_id=group.pk,
            detail={"event": "group_rights_changed", "group": group.name, "deleted": deleted, **changed},
            request=request,
        )
