"""Exceptions raised by the core. Adapters turn them into 4xx responses or CommandErrors."""


class ExportError(Exception):
    """A request that cannot be served: bad model, field, filter, format or option.

    Raised before the first byte is produced, so adapters can answer with a clear error.
    """


class ExportAborted(Exception):
    """A failure after streaming started; the transfer must be aborted, never completed."""
