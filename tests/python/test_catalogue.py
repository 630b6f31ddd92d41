"""The rest of the catalogue from Python: ensembles over a model object, ALMA, and
forecasters with River's verbs (learn_one(y), forecast(horizon))."""

import math

import pytest

import rtml
from rtml import ensemble, evaluate, linear_model, metrics, preprocessing, stream, time_series, tree


def test_an_ensemble_takes_its_base_model_as_an_object(elec2):
    base = tree.HoeffdingTreeClassifier(grace_period=100)
    model = ensemble.LeveragingBaggingClassifier(model=base, n_models=3, seed=5)
    assert "model=hoeffding_tree(grace_period=100," in model.description
    # The same model by expression and by class, over the same rows, agrees exactly.
    twin = rtml.Pipeline(model.description)
    rows = list(stream.iter_csv(elec2, target="class"))[:3000]
    for x, y in rows:
        assert model.predict_proba_one(x) == twin.predict_proba_one(x)
        model.learn_one(x, y)
        twin.learn_one(x, y)


def test_an_ensemble_refuses_a_pipeline_or_a_transform_as_its_model():
    with pytest.raises(ValueError, match="is a pipeline"):
        ensemble.BaggingClassifier(model=preprocessing.StandardScaler() | linear_model.LogisticRegression())
    with pytest.raises(ValueError, match="is a transform"):
        rtml.Pipeline("oza_bagging(model=standard_scaler)")


def test_bagging_regressor_defaults_to_a_regression_tree():
    model = ensemble.BaggingRegressor(n_models=2)
    assert "model=hoeffding_tree_regressor(" in model.description
    for i in range(200):
        model.learn_one({"a": i % 10}, 2.0 * (i % 10))
    assert abs(model.predict_one({"a": 4}) - 8.0) < 2.0


def test_alma_reaches_rivers_figure_on_elec2(elec2):
    model = preprocessing.StandardScaler() | linear_model.ALMAClassifier()
    metric = evaluate.progressive_val_score(stream.iter_csv(elec2, target="class"), model,
                                            metrics.Accuracy())
    assert round(metric.get(), 4) == 0.9064  # River's published figure


def test_forecasters_learn_values_and_forecast_the_season():
    model = time_series.HoltWinters(alpha=0.3, beta=0.1, gamma=0.3, seasonality=12)
    series = [10 + 3 * math.sin(2 * math.pi * t / 12) for t in range(312)]
    for y in series[:300]:
        model.learn_one(y)
    forecast = model.forecast(horizon=12)
    assert len(forecast) == 12
    assert max(abs(f - y) for f, y in zip(forecast, series[300:])) < 0.05
    # Saved and loaded, it forecasts the same.
    again = rtml.Pipeline(model.description)
    for y in series[:300]:
        again.learn_one({}, y)
    assert again.forecast(12) == forecast


def test_only_forecasters_forecast():
    with pytest.raises(ValueError, match="not a forecaster"):
        linear_model.LinearRegression()._forecast(3)


def test_conformal_intervals_hold_their_share_of_values():
    import random
    rng = random.Random(3)
    model = preprocessing.StandardScaler() | rtml.conf.RegressionJackknife(
        model=linear_model.LinearRegression(lr=0.05), confidence=0.9)
    assert model.predict_interval_one({"u": 0.5}) is None  # no residual yet
    covered = n = 0
    for i in range(6000):
        u = rng.uniform(-1, 1)
        y = 2 * u + rng.gauss(0, 1)
        interval = model.predict_interval_one({"u": u})
        if i >= 1000:
            n += 1
            covered += interval[0] <= y <= interval[1]
        model.learn_one({"u": u}, y)
    assert abs(covered / n - 0.9) < 0.02
    with pytest.raises(ValueError, match="not a regressor"):
        linear_model.LogisticRegression().predict_interval_one({"u": 1.0})


def test_model_selection_answers_with_the_better_candidate():
    import random
    rng = random.Random(4)
    model = rtml.model_selection.SuccessiveHalvingClassifier(
        models=[linear_model.LogisticRegression(lr=1e-9, intercept_lr=1e-9), linear_model.Perceptron()],
        budget=1000)
    right = 0
    for i in range(3000):
        x = {"a": rng.random(), "b": rng.random()}
        y = x["a"] > x["b"]
        if i >= 2000:
            right += model.predict_one(x) == y
        model.learn_one(x, y)
    assert right / 1000 > 0.9
