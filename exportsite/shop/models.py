"""The demo domain: customers and their orders, with every field type the exporter handles."""

import uuid

from django.db import models


class Customer(models.Model):
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code.")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.email


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"
        SHIPPED = "shipped", "Shipped"
        CANCELLED = "cancelled", "Cancelled"
        REFUNDED = "refunded", "Refunded"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="EUR")
    discount = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    is_gift = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    shipped_on = models.DateField(null=True, blank=True)
    note = models.TextField(blank=True)
    reference = models.UUIDField(unique=True, default=uuid.uuid4)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"Order {self.pk} ({self.status})"
