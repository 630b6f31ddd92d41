"""Step classes named as River names them, each over one step of rtml's registry."""

from . import _rtml
from ._pipeline import Pipeline, Transformer, _expression

_SUMMARIES = {name: summary for name, _, summary in _rtml.steps()}

class Default(str):
    """A parameter a class sets unless its caller does (in CLASSES' fixed parameters)."""


# Every class of every module: (module, class name, registry name, fixed parameters).
# tests/python/test_steps.py checks that each step of the registry has a class here.

CLASSES = [
    ("linear_model", "LinearRegression", "linear_regression", {}),
    ("linear_model", "LogisticRegression", "logistic_regression", {}),
    ("linear_model", "Perceptron", "perceptron", {}),
    ("linear_model", "SoftmaxRegression", "softmax_regression", {}),
    ("linear_model", "PAClassifier", "pa_classifier", {}),
    ("linear_model", "PARegressor", "pa_regressor", {}),
    ("linear_model", "ALMAClassifier", "alma", {}),
    ("preprocessing", "StandardScaler", "standard_scaler", {}),
    ("preprocessing", "MinMaxScaler", "min_max_scaler", {}),
    ("preprocessing", "OneHotEncoder", "one_hot", {}),
    ("preprocessing", "FeatureHasher", "feature_hasher", {}),
    ("feature_extraction", "PairwiseInteractions", "pairwise_interactions", {}),
    ("naive_bayes", "GaussianNB", "gaussian_nb", {}),
    ("naive_bayes", "MultinomialNB", "multinomial_nb", {}),
    ("tree", "HoeffdingTreeClassifier", "hoeffding_tree", {}),
    ("tree", "HoeffdingAdaptiveTreeClassifier", "hoeffding_adaptive_tree", {}),
    ("tree", "HoeffdingTreeRegressor", "hoeffding_tree_regressor", {}),
    ("tree", "HoeffdingAdaptiveTreeRegressor", "hoeffding_adaptive_tree_regressor", {}),
    ("forest", "ARFClassifier", "adaptive_random_forest", {}),
    ("forest", "ARFRegressor", "adaptive_random_forest_regressor", {}),
    ("ensemble", "BaggingClassifier", "oza_bagging", {}),
    ("ensemble", "BaggingRegressor", "oza_bagging", {"model": Default("hoeffding_tree_regressor")}),
    ("ensemble", "ADWINBaggingClassifier", "adwin_bagging", {}),
    ("ensemble", "LeveragingBaggingClassifier", "leveraging_bagging", {}),
    ("ensemble", "SRPClassifier", "streaming_random_patches", {}),
    ("ensemble", "AdaBoostClassifier", "oza_boosting", {}),
    ("neighbors", "KNNClassifier", "knn", {}),
    ("neighbors", "KNNRegressor", "knn_regressor", {}),
    ("reco", "FunkMF", "funk_mf", {}),
    ("reco", "BiasedMF", "biased_mf", {}),
    ("facto", "FMRegressor", "fm", {"loss": "squared"}),
    ("facto", "FMClassifier", "fm", {"loss": "log"}),
    ("anomaly", "HalfSpaceTrees", "half_space_trees", {}),
    ("cluster", "KMeans", "kmeans", {}),
    ("cluster", "CluStream", "clustream", {}),
    ("cluster", "DenStream", "denstream", {}),
    ("cluster", "DBSTREAM", "dbstream", {}),
    ("model_selection", "SuccessiveHalvingClassifier", "successive_halving", {}),
    ("model_selection", "SuccessiveHalvingRegressor", "successive_halving", {}),
    ("model_selection", "BanditClassifier", "bandit_select", {}),
    ("model_selection", "BanditRegressor", "bandit_select", {}),
    ("conf", "RegressionJackknife", "conformal", {}),
    ("imblearn", "RandomUnderSampler", "random_under_sampler", {}),
    ("imblearn", "RandomOverSampler", "random_over_sampler", {}),
    ("time_series", "HoltWinters", "holt_winters", {}),
    ("time_series", "SNARIMAX", "snarimax", {}),
    ("dummy", "RunningMean", "running_mean", {}),
]


def _instance(step):
    return step() if isinstance(step, type) else step


class _ModelClass(type(_rtml.Model)):
    """Lets step classes compose as their instances do: StandardScaler | LogisticRegression."""

    def __or__(cls, other):
        return cls() | _instance(other)

    def __ror__(cls, other):
        return _instance(other) | cls()


class _TransformerClass(type):
    __or__ = _ModelClass.__or__
    __ror__ = _ModelClass.__ror__


def _step_class(module, class_name, step_name, fixed, transformer):
    """A class whose instances are the step step_name with the caller's parameters."""
    base, meta = (Transformer, _TransformerClass) if transformer else (Pipeline, _ModelClass)

    defaults = {k: str(v) for k, v in fixed.items() if isinstance(v, Default)}
    forced = {k: v for k, v in fixed.items() if not isinstance(v, Default)}

    def __init__(self, **params):
        base.__init__(self, _expression(step_name, {**defaults, **params, **forced}))

    doc = f"rtml's `{step_name}`: {_SUMMARIES.get(step_name, '')}. Parameters as `rtml models` lists them."
    namespace = {"__init__": __init__, "__doc__": doc, "__module__": "rtml." + module,
                 "_step": step_name}
    if module == "time_series":
        namespace.update(_FORECASTER_METHODS)
    return meta(class_name, (base,), namespace)


def _forecaster_learn_one(self, y, x=None):
    """Learns the series' next value y, as River's forecasters: learn_one(y, x=None). x
    (exogenous features) is accepted and ignored; learn_one(x, y) with a dict first, as
    every other model takes it, works too."""
    if isinstance(y, dict):
        y, x = x, y
    return Pipeline.learn_one(self, {} if x is None else x, y)


# River's forecaster verb learn_one(y, x=None); forecast(horizon) is every Pipeline's.
_FORECASTER_METHODS = {"learn_one": _forecaster_learn_one}


def classes_of(module):
    """The step classes of one module, by name."""
    kinds = {name: kind for name, kind, _ in _rtml.steps()}
    out = {}
    for mod, class_name, step_name, fixed in CLASSES:
        if mod != module or step_name not in kinds:
            continue
        out[class_name] = _step_class(mod, class_name, step_name, fixed,
                                      transformer=kinds[step_name] == "transform")
    return out
