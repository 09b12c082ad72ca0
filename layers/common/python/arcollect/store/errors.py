"""Domain-level storage errors: what callers may catch instead of botocore's or pynamodb's."""


class StoreError(RuntimeError):
    """A storage operation failed in a way the caller cannot fix (it is retried by the trigger)."""


class StoreUnavailable(StoreError):
    """The storage service could not be reached or throttled us beyond our retries."""


class ObjectMissing(StoreError):
    """An S3 object (version) named by an event no longer exists."""
