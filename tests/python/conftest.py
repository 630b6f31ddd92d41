"""Shared fixtures: the data sets, the CLI, small synthetic streams."""

import os
import pathlib
import random

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

# Step classes that cannot be built without a parameter, with one that builds them.
REQUIRED = {
    "SuccessiveHalvingClassifier": {"models": ["gaussian_nb", "hoeffding_tree"], "budget": 600},
    "SuccessiveHalvingRegressor": {"models": ["linear_regression", "knn_regressor"], "budget": 600},
    "BanditClassifier": {"models": ["gaussian_nb", "hoeffding_tree"]},
    "BanditRegressor": {"models": ["linear_regression", "knn_regressor"]},
}


def data_dir():
    env = os.environ.get("RTML_DATA")
    return pathlib.Path(env) if env else ROOT.parent / "shared" / "datasets"


@pytest.fixture
def elec2():
    path = data_dir() / "elec2.csv.gz"
    assert path.exists(), f"{path}: the shared data sets are missing (RTML_DATA)"
    return path


@pytest.fixture
def rtml_bin():
    path = os.environ.get("RTML_BIN", str(ROOT / "build" / "rtml"))
    assert os.path.exists(path), f"{path}: build the CLI first"
    return path


def classification_stream(n=400, seed=1, classes=(False, True)):
    """x1 + x2 > 1 decides between two classes (a third by x3 when asked), with a category."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        x = {"x1": rng.random(), "x2": rng.random(), "x3": rng.random(),
             "colour": rng.choice(["red", "green", "blue"])}
        c = classes[1] if x["x1"] + x["x2"] > 1 else classes[0]
        if len(classes) > 2 and x["x3"] > 0.7:
            c = classes[2]
        out.append((x, c))
    return out


def regression_stream(n=400, seed=2):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        x = {"x1": rng.random(), "x2": rng.random(), "colour": rng.choice(["red", "green"])}
        out.append((x, 3 * x["x1"] - 2 * x["x2"] + rng.gauss(0, 0.05)))
    return out


def ratings_stream(n=400, seed=3):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        u, i = rng.randrange(20), rng.randrange(15)
        out.append(({"user": f"u{u}", "item": f"i{i}"}, float((u + i) % 5 + 1)))
    return out
