"""What the demo shop lets staff export (and import) over HTTP and the admin."""

from exports.registry import register

from .models import Customer, Order

register(
    Order,
    fields=[
        "id",
        "customer_id",
        "customer__email",
        "status",
        "total_cents",
        "currency",
        "discount",
        "is_gift",
        "created_at",
        "shipped_on",
        "note",
        "reference",
        "metadata",
    ],
    filters=[
        "id",
        "status",
        "currency",
        "is_gift",
        "created_at",
        "shipped_on",
        "total_cents",
        "customer__email",
        "customer__country",
    ],
    import_fields=[
        "id",
        "customer_id",
        "status",
        "total_cents",
        "currency",
        "discount",
        "is_gift",
        "created_at",
        "shipped_on",
        "note",
        "reference",
        "metadata",
    ],
    import_key=["reference"],
)

register(
    Customer,
    fields=["id", "email", "name", "country", "created_at"],
    filters=["id", "email", "country", "created_at"],
    import_fields=["id", "email", "name", "country", "created_at"],
    import_key=["email"],
)
