"""The audit trail: one row per export served over HTTP or the admin, completed or not."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ExportLog(models.Model):
    """Who exported what, how much of it left, and whether the transfer finished.

    A row is written as ``started`` before the first byte and updated when the stream ends.
    A row still ``started`` long after ``started_at`` means the serving process died mid-way.
    """

    class Status(models.TextChoices):
        STARTED = "started", "Started"
        COMPLETED = "completed", "Completed"
        ABORTED = "aborted", "Aborted"

    class Source(models.TextChoices):
        DOWNLOAD = "download", "Download link"
        ADMIN_ACTION = "admin_action", "Admin action"
        ADMIN_CHANGELIST = "admin_changelist", "Admin changelist"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept apart from ``user`` so the trail survives the user's deletion.
    username = models.CharField(max_length=150, blank=True)
    model = models.CharField(max_length=200, help_text="app_label.ModelName")
    source = models.CharField(max_length=20, choices=Source.choices)
    format = models.CharField(max_length=20)
    fields = models.JSONField(default=list, blank=True)
    filters = models.JSONField(
        default=list, blank=True, help_text="[lookup, value] pairs as the request gave them."
    )
    query_string = models.TextField(blank=True)
    engine = models.CharField(max_length=10, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.STARTED)
    rows = models.PositiveBigIntegerField(default=0)
    bytes_sent = models.PositiveBigIntegerField(default=0)
    seconds = models.FloatField(null=True, blank=True, help_text="Duration of the transfer.")
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = "export log entry"
        verbose_name_plural = "export log"

    def __str__(self) -> str:
        return f"{self.model} as {self.format} by {self.username or '?'} ({self.status})"
