"""rtml: real-time machine learning in C++, with River's vocabulary.

    import rtml
    model = rtml.preprocessing.StandardScaler() | rtml.linear_model.LogisticRegression()
    for x, y in rtml.stream.iter_csv("elec2.csv", target="class"):
        y_pred = model.predict_proba_one(x)
        model.learn_one(x, y)
"""

from . import _rtml
from ._pipeline import Pipeline, Transformer, load, step, steps
from ._store import FeatureStore
from . import (  # noqa: E402 - the step modules need the classes above
    anomaly,
    cluster,
    compose,
    conf,
    dummy,
    ensemble,
    evaluate,
    facto,
    feature_extraction,
    forest,
    imblearn,
    linear_model,
    metrics,
    model_selection,
    naive_bayes,
    neighbors,
    optim,
    preprocessing,
    reco,
    stream,
    time_series,
    tree,
)

__version__ = "0.1.0"
__all__ = [
    "Pipeline", "Transformer", "FeatureStore", "load", "step", "steps",
    "anomaly", "cluster", "compose", "conf", "dummy", "ensemble", "evaluate", "facto",
    "feature_extraction", "forest", "imblearn", "linear_model", "metrics", "model_selection",
    "naive_bayes", "neighbors", "optim", "preprocessing", "reco", "stream", "time_series",
    "tree",
]
