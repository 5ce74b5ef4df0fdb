"""Benchmark-only settings: the demo project's, plus the competitors' apps.

django-import-export is a ``bench`` dependency group member, never a runtime dependency, so
it is only ever installed here and never in ``exportsite.settings``.
"""

from exportsite.settings import *  # noqa: F403
from exportsite.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "import_export"]
