from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the app writes (outbox, schedule, webhook calls): the admin shows them and changes nothing."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
