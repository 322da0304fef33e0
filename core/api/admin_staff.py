"""Staff users and sign-in lockouts in the admin, for managers as well as superusers.

A manager (the ``Manager`` group: add and change users) adds staff users, puts them into groups
and lifts lockouts. Never more than that: a manager gives only what they hold themselves, so
nobody gains a right through them.

- Superuser status, staff status and individual permissions are not on a manager's forms (a
  posted value is ignored); every user a manager adds is staff.
- A manager assigns only groups whose every permission they hold.
- A manager changes (password included) only users who hold strictly less than the manager:
  never a superuser, never a peer (another manager: setting a colleague's password would take
  over their account), never a user with a permission beyond the manager's, active or not (an
  inactive user's rights come back when someone activates them).
- A manager's own groups and active flag are read-only to them.

Superusers keep Django's full user admin.
"""

from typing import Any

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from axes.utils import reset
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group, Permission, User
from django.db.models import Q, QuerySet
from django.db.models.fields.related import ManyToManyField
from django.http import HttpRequest

STAFF_ADD_FIELDSETS = (
    (None, {"fields": ("username", "usable_password", "password1", "password2")}),
    ("Staff groups", {"fields": ("groups",)}),
)
STAFF_FIELDSETS = (
    (None, {"fields": ("username", "password")}),
    ("Personal info", {"fields": ("first_name", "last_name", "email")}),
    (
        "Access",
        {
            "fields": ("is_active", "groups"),
            "description": "Staff sign in to the admin; their groups say what they may do there.",
        },
    ),
    ("Important dates", {"fields": ("last_login", "date_joined")}),
)


def _names(permissions: QuerySet[Permission]) -> set[str]:
    """``app_label.codename`` of each permission, as ``User.has_perm`` names them."""
    return {
        f"{app_label}.{codename}"
        for app_label, codename in permissions.values_list("content_type__app_label", "codename")
    }


def rights_of(user: User) -> set[str]:
    """Every permission ``user`` holds through its own permissions and its groups, whether or not
    it is active (Django's ``get_all_permissions`` says nothing of an inactive user)."""
    return _names(Permission.objects.filter(Q(user=user) | Q(group__user=user)).distinct())


def may_manage(actor: Any, user: User) -> bool:
    """``actor`` may change ``user``: themselves, or a user who holds strictly less than they
    do. Not a peer: a manager who could set another manager's password could take over that
    colleague's account, and act in their name."""
    if actor.is_superuser:
        return True
    if user.is_superuser:
        return False
    if user.pk == actor.pk:
        return True
    held: set[str] = actor.get_all_permissions()
    return rights_of(user) < held


def assignable_groups(actor: Any) -> QuerySet[Group]:
    """The groups ``actor`` may put users into: those whose every permission it holds."""
    groups = Group.objects.order_by("name")
    if actor.is_superuser:
        return groups
    held = actor.get_all_permissions()
    allowed = [
        group.pk
        for group in groups.prefetch_related("permissions__content_type")
        if {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()} <= held
    ]
    return groups.filter(pk__in=allowed)


admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):  # type: ignore[type-arg]
    list_display = ("username", "first_name", "last_name", "is_active", "group_names")
    list_filter = ("is_active", "groups", "is_staff", "is_superuser")
    filter_horizontal = ("user_permissions",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="Groups")
    def group_names(self, user: User) -> str:
        names = ", ".join(group.name for group in user.groups.all())
        return "superuser" if user.is_superuser else names

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None) -> Any:
        if request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        return STAFF_ADD_FIELDSETS if obj is None else STAFF_FIELDSETS

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> Any:
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        if obj is not None and obj.pk == request.user.pk:
            return ("last_login", "date_joined", "is_active", "groups")
        return ("last_login", "date_joined")

    def formfield_for_manytomany(
        self, db_field: "ManyToManyField[Any, Any]", request: HttpRequest, **kwargs: Any
    ) -> "forms.ModelMultipleChoiceField[Any] | None":
        if db_field.name == "groups":
            kwargs["queryset"] = assignable_groups(request.user)
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # Also guards the password page, which asks this of the user whose password it sets.
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or may_manage(request.user, obj))

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if not change and not request.user.is_superuser:
            obj.is_staff = True  # a manager adds staff, who sign in to the admin
        super().save_model(request, obj, form, change)


admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LockoutAdmin(AccessAttemptAdmin):
    """django-axes' failed sign-ins, newest first; "Unlock" lifts a lockout (it forgets the
    failures of that username from that address), which a manager may do."""

    actions = ["unlock"]
    ordering = ["-attempt_time"]
    # Who, from where, how often: what deciding on an unlock takes (the browser's user agent
    # stays on the attempt's page).
    list_display = ["attempt_time", "username", "ip_address", "failures_since_start", "status"]

    @admin.action(description="Unlock the selected sign-ins", permissions=["delete"])
    def unlock(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        unlocked = []
        for attempt in queryset:
            if attempt.username and attempt.ip_address:
                reset(ip=attempt.ip_address, username=attempt.username)
            else:  # axes' reset would take a missing value as "any": forget this row only
                attempt.delete()
            unlocked.append(f"{attempt.username or '(no username)'} from {attempt.ip_address}")
        self.message_user(
            request,
            f"Unlocked: {', '.join(unlocked)}. They may sign in again.",
            messages.SUCCESS,
        )
