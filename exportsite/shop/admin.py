from django.contrib import admin

from exports.admin import ImportExportAdminMixin

from .models import Customer, Order


@admin.register(Customer)
class CustomerAdmin(ImportExportAdminMixin, admin.ModelAdmin):
    list_display = ["email", "name", "country", "created_at"]
    list_filter = ["country"]
    search_fields = ["email", "name"]
    show_full_result_count = False


@admin.register(Order)
class OrderAdmin(ImportExportAdminMixin, admin.ModelAdmin):
    list_display = ["id", "customer", "status", "total_cents", "currency", "is_gift", "created_at"]
    list_filter = ["status", "is_gift", "currency"]
    search_fields = ["reference", "customer__email"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]
    show_full_result_count = False
