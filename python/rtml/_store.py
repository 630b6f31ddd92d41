"""The feature store, as rtml.FeatureStore."""

from . import _rtml
from ._pipeline import _path

__all__ = ["FeatureStore"]


class FeatureStore(_rtml.FeatureStore):
    """Entities (str or int keys) with named features, in memory, durable in ``dir``.

    ``FeatureStore(dir=None, fsync="every=10ms", aggregates=(), ttl=None, read_only=False)``:
    dir None keeps everything in memory; otherwise every put() is in the write-ahead log
    when it returns and the folder survives a crash (reopen to recover). fsync is
    "always", "never", "every=10ms" (or True for "always", False for "never").
    aggregates declares features computed from events (apply_event), one per item:
    ``"spend_1h = sum(amount) by user over 1h every 5m"``. ttl: seconds by feature group
    (the part of a name before its dot). Use it in a ``with`` block, or close() it, to
    release the folder.
    """

    def __init__(self, dir=None, fsync="every=10ms", aggregates=(), ttl=None, read_only=False):
        if fsync is True:
            fsync = "always"
        elif fsync is False:
            fsync = "never"
        if isinstance(aggregates, str):
            aggregates = [aggregates]
        super().__init__(None if dir is None else _path(dir), fsync, list(aggregates),
                         dict(ttl or {}), read_only)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return f"FeatureStore({len(self)} entities)"
