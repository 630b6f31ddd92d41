"""Every step of the registry has a class, and each constructs, learns and predicts."""

import math
import random

import pytest

import rtml
from rtml import _steps

from conftest import REQUIRED, classification_stream, ratings_stream, regression_stream

ALL = [(module, name) for module, name, _, _ in _steps.CLASSES]
RECOMMENDERS = {"funk_mf", "biased_mf", "fm"}


def step_class(module, name):
    return getattr(getattr(rtml, module), name)


def test_every_registry_step_has_a_class():
    covered = {step for _, _, step, _ in _steps.CLASSES}
    missing = [name for name, _, _ in rtml.steps() if name not in covered]
    assert not missing, f"steps without a Python class in rtml/_steps.py: {missing}"


def numeric(x):
    return {k: v for k, v in x.items() if not isinstance(v, str)}


@pytest.mark.parametrize("module,name", ALL)
def test_step_constructs_learns_and_predicts(module, name):
    cls = step_class(module, name)
    model = cls(**REQUIRED.get(name, {}))
    if isinstance(model, rtml.Transformer):
        events = classification_stream(200)
        if cls._step not in ("one_hot", "feature_hasher"):  # they alone read categories
            events = [(numeric(x), y) for x, y in events]
        for x, _ in events:
            model.learn_one(x)
        out = model.transform_one(events[0][0])
        assert out, f"{name} transformed an event into nothing"
        assert all(isinstance(v, (float, str)) for v in out.values())
        # Composed with a model, it is the first step of a pipeline that learns.
        pipeline = cls() | rtml.linear_model.LogisticRegression()
        for x, y in events:
            pipeline.learn_one(x, y)
        assert pipeline.predict_one(events[0][0]) in (False, True)
        return

    assert repr(model).startswith(name + "(")
    step = cls._step
    if model.is_clusterer:  # learns without labels; predicts a cluster id
        rng = random.Random(3)
        centres = [(0.0, 0.0), (5.0, 5.0), (10.0, 0.0)]  # blobs tight enough for the defaults
        events = [{"x1": cx + rng.gauss(0, 0.005), "x2": cy + rng.gauss(0, 0.005)}
                  for cx, cy in (rng.choice(centres) for _ in range(1200))]
        for x in events:
            model.learn_one(x)
        ids = [model.predict_one(x) for x in events[-100:]]
        assert all(isinstance(c, int) and c >= 0 for c in ids), ids
        return

    if model.is_anomaly_detector:
        events = classification_stream(300)
        for x, _ in events:
            model.learn_one(numeric(x))
        score = model.score_one(numeric(events[0][0]))
        assert 0.0 <= score <= 1.0
        with pytest.raises(ValueError, match="anomaly detector"):
            model.predict_one(numeric(events[0][0]))
        return

    if module == "time_series":  # a forecaster: a series, learned one value at a time
        series = [5 + 2 * math.sin(2 * math.pi * t / 7) + 0.01 * t for t in range(700)]
        errors = []
        for y in series:
            errors.append(abs(model.forecast(1)[0] - y))
            model.learn_one(y)
        assert len(model.forecast(10)) == 10
        assert model.predict_one({}) == model.forecast(1)[0]
        # Learning helps: the late error is below the series' spread around its mean.
        mean = sum(series) / len(series)
        assert sum(errors[-100:]) / 100 < sum(abs(y - mean) for y in series) / len(series)
        return

    if step in RECOMMENDERS:
        events = ratings_stream(600)
        if model.task == "binary":
            events = [(x, y > 3) for x, y in events]
        for x, y in events:
            model.learn_one(x, y)
        p = model.predict_one(events[0][0])
        if model.task == "binary":
            assert p in (False, True)
        else:
            assert isinstance(p, float) and math.isfinite(p)
        return

    if model.task == "regression":
        events = [(numeric(x), y) for x, y in regression_stream(600)]
        first = abs(model.predict_one(events[0][0]) - events[0][1])
        errors = []
        for x, y in events:
            errors.append(abs(model.predict_one(x) - y))
            model.learn_one(x, y)
        late = sum(errors[-200:]) / 200
        assert math.isfinite(late)
        # Learning helps: the late error is below the spread of the target around 0.
        assert late < sum(abs(y) for _, y in events) / len(events), (name, late, first)
        return

    classes = ("no", "yes", "maybe") if model.task == "multiclass" else (False, True)
    events = [(numeric(x), y) for x, y in classification_stream(1500, classes=classes)]
    if step == "multinomial_nb":  # a model of counts: words that say which class
        events = [({"good": 3 * x["x1"] * x["x2"], "bad": 3 * (1 - x["x1"]) * (1 - x["x2"])}, y)
                  for x, y in events]
    correct = 0
    for i, (x, y) in enumerate(events):
        p = model.predict_one(x)
        if i >= 1000:
            correct += p == y
        model.learn_one(x, y)
    assert model.predict_one(events[0][0]) in classes
    proba = model.predict_proba_one(events[0][0])
    assert set(proba) <= set(classes) and proba
    assert abs(sum(proba.values()) - 1.0) < 1e-6 or model.task == "binary"
    assert correct / 500 > 0.6, f"{name}: accuracy {correct / 500:.3f} on an easy stream"


def test_optimizer_objects_as_rivers():
    model = rtml.linear_model.LogisticRegression(optimizer=rtml.optim.Adam(lr=0.02), l2=0.001)
    assert "optimizer=adam" in model.description and "lr=0.02" in model.description
    model = rtml.linear_model.LogisticRegression(optimizer="ftrl")
    assert "optimizer=ftrl" in model.description


def test_composition():
    scaler = rtml.preprocessing.StandardScaler()
    pipeline = scaler | rtml.linear_model.LogisticRegression(lr=0.005)
    assert isinstance(pipeline, rtml.Pipeline)
    assert pipeline.description.startswith("standard_scaler(")
    chain = rtml.preprocessing.StandardScaler() | rtml.feature_extraction.PairwiseInteractions()
    assert isinstance(chain, rtml.Transformer)
    assert (chain | rtml.linear_model.LinearRegression()).description.count("|") == 2
    # Classes compose as their instances do (River allows it too).
    by_class = rtml.preprocessing.StandardScaler | rtml.linear_model.LogisticRegression
    assert isinstance(by_class, rtml.Pipeline) and by_class.description.startswith("standard_scaler(")
    mixed = rtml.preprocessing.StandardScaler() | rtml.linear_model.LogisticRegression
    assert mixed.description == by_class.description
    same = rtml.Pipeline(rtml.preprocessing.StandardScaler(), rtml.linear_model.LogisticRegression())
    assert same.description == rtml.Pipeline("standard_scaler | logistic_regression").description
    with pytest.raises(ValueError, match="last step"):
        rtml.linear_model.LogisticRegression() | rtml.preprocessing.StandardScaler()
    learned = rtml.linear_model.LogisticRegression()
    learned.learn_one({"a": 1.0}, True)
    with pytest.raises(ValueError, match="compose steps before they learn"):
        rtml.preprocessing.StandardScaler() | learned


def test_step_by_registry_name():
    assert isinstance(rtml.step("one_hot", max_categories=10), rtml.Transformer)
    model = rtml.step("hoeffding_tree", grace_period=50)
    assert "grace_period=50" in model.description
    with pytest.raises(ValueError, match="unknown"):
        rtml.step("no_such_step")


def test_recommend():
    model = rtml.reco.BiasedMF(seed=1)
    for x, y in ratings_stream(2000):
        model.learn_one(x, y)
    best = model.recommend("u3", 5)
    assert len(best) == 5 and all(isinstance(i, str) and isinstance(s, float) for i, s in best)
    assert [s for _, s in best] == sorted((s for _, s in best), reverse=True)


def test_categories_need_an_encoder():
    model = rtml.linear_model.LogisticRegression()
    with pytest.raises(ValueError, match="categor"):
        model.learn_one({"colour": "red"}, True)
    model = rtml.preprocessing.OneHotEncoder() | rtml.linear_model.LogisticRegression()
    for x, y in classification_stream(300):
        model.learn_one(x, y)
    assert model.predict_one({"x1": 0.9, "x2": 0.9, "colour": "purple"}) is True
