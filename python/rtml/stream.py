"""Streams of (x, y) pairs, River's stream module."""

from . import _rtml

__all__ = ["iter_csv", "iter_pandas", "iter_array"]


def iter_csv(path, target=None, converters=None, drop=None):
    """Yields (x, y) for each row of a CSV file (or JSON Lines, by extension; gzipped or
    not), read by rtml's decoders: numbers as float, texts as str, missing values left
    out of x. y is the target's value (whole numbers as int) or None without a target.
    Unlike River's, numbers need no converter; converters (by column) still apply.
    Bad lines are skipped and counted (``skipped``). OSError if the file cannot be read."""
    from ._pipeline import _path

    return _rtml.CsvStream(_path(path), target, list(drop or []), dict(converters or {}))

def iter_pandas(X, y=None):
    """Yields (x, y) for each row of a DataFrame X (and Series y)."""
    names = [str(c) for c in X.columns]
    ys = None if y is None else list(y)
    for i, row in enumerate(X.itertuples(index=False, name=None)):
        yield dict(zip(names, row)), (None if ys is None else ys[i])

def iter_array(X, y=None, feature_names=None):
    """Yields (x, y) for each row of a 2-D array X; features named "0", "1", ... unless
    feature_names says otherwise."""
    for i, row in enumerate(X):
        names = feature_names or [str(j) for j in range(len(row))]
        yield dict(zip(names, (float(v) for v in row))), (None if y is None else y[i])
