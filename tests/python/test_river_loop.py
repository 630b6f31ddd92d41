"""A River user's script over Elec2 gives River's figure, the same as `rtml eval`."""

import re
import subprocess

import rtml
from rtml import evaluate, linear_model, metrics, preprocessing, stream

MODEL = "standard_scaler | logistic_regression(lr=0.005)"


def eval_figures(rtml_bin, path):
    out = subprocess.run([rtml_bin, "eval", "--data", str(path), "--target", "class",
                          "--model", MODEL], capture_output=True, text=True, check=True).stdout
    return {m[0]: float(m[1]) for m in re.findall(r"^(accuracy|f1|roc_auc)\s+([0-9.]+)$", out, re.M)}


def test_river_style_loop_reaches_rivers_figure(elec2, rtml_bin):
    model = preprocessing.StandardScaler() | linear_model.LogisticRegression(lr=0.005)
    accuracy, f1, auc = metrics.Accuracy(), metrics.F1(), metrics.ROCAUC()
    n = 0
    for x, y in stream.iter_csv(elec2, target="class"):
        y_pred = model.predict_proba_one(x)
        accuracy.update(y, y_pred)
        f1.update(y, y_pred)
        auc.update(y, y_pred)
        model.learn_one(x, y)
        n += 1
    assert n == 45312
    assert round(accuracy.get(), 4) == 0.8221  # River's published figure
    assert round(f1.get(), 4) == 0.7771
    cli = eval_figures(rtml_bin, elec2)
    assert round(accuracy.get(), 4) == cli["accuracy"]
    assert round(f1.get(), 4) == cli["f1"]
    assert abs(auc.get() - cli["roc_auc"]) < 1e-3
    assert str(accuracy) == "Accuracy: 82.21%"


def test_progressive_val_score_over_a_csv_and_over_dicts(elec2, capsys):
    model = rtml.Pipeline(MODEL)
    metric = evaluate.progressive_val_score(stream.iter_csv(elec2, target="class"), model,
                                            metrics.Accuracy(), print_every=20000)
    assert round(metric.get(), 4) == 0.8221
    assert model.n_learned == 45312
    printed = capsys.readouterr().out.splitlines()
    assert printed[:2] == [printed[0], printed[1]] and printed[0].startswith("[20,000] Accuracy: ")
    # The same events as a list of (dict, label) pairs take the path of learn_one.
    events = list(stream.iter_csv(elec2, target="class"))
    other = evaluate.progressive_val_score(events, rtml.Pipeline(MODEL), metrics.Accuracy())
    assert abs(other.get() - metric.get()) < 1e-4


def test_iter_csv_values(elec2):
    it = stream.iter_csv(elec2, target="class", drop=["date"],
                         converters={"class": lambda v: v == "UP"})
    x, y = next(iter(it))
    assert set(x) == {"day", "period", "nswprice", "nswdemand", "vicprice", "vicdemand", "transfer"}
    assert all(isinstance(v, float) for v in x.values())
    assert y is True
    assert it.yielded == 1
    x, y = next(iter(stream.iter_csv(elec2)))
    assert y is None and x["class"] == "UP"


def test_delayed_labels_give_rtml_eval_delay_figures(elec2, rtml_bin):
    out = subprocess.run([rtml_bin, "eval", "--data", str(elec2), "--target", "class", "--model",
                          MODEL, "--delay", "100"], capture_output=True, text=True, check=True).stdout
    cli = float(re.search(r"^accuracy\s+([0-9.]+)$", out, re.M)[1])
    over_csv = evaluate.progressive_val_score(stream.iter_csv(elec2, target="class"),
                                              rtml.Pipeline(MODEL), metrics.Accuracy(), delay=100)
    model = rtml.Pipeline(MODEL)
    over_dicts = evaluate.progressive_val_score(list(stream.iter_csv(elec2, target="class")),
                                                model, metrics.Accuracy(), delay=100)
    assert round(over_csv.get(), 4) == cli == round(over_dicts.get(), 4)
    assert cli < 0.8221  # a late label costs accuracy on a stream that drifts
    # Every label was learned in the end: the model equals one that learned in order.
    assert model.n_learned == 45312
    import pytest

    with pytest.raises(ValueError, match="delay"):
        evaluate.progressive_val_score([], rtml.Pipeline(MODEL), metrics.Accuracy(), delay=-1)


def test_metrics_added_together(elec2, rtml_bin):
    together = metrics.Accuracy() + metrics.F1() + metrics.ROCAUC()
    assert isinstance(together, metrics.Metrics) and len(together) == 3
    evaluate.progressive_val_score(stream.iter_csv(elec2, target="class"), rtml.Pipeline(MODEL),
                                   together)
    cli = eval_figures(rtml_bin, elec2)
    accuracy, f1, auc = together.get()
    assert (round(accuracy, 4), round(f1, 4)) == (cli["accuracy"], cli["f1"])
    assert abs(auc - cli["roc_auc"]) < 1e-3
    assert repr(together).startswith("Accuracy: 82.21%, F1: 77.71%, ROCAUC: ")
