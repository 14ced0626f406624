"""Validation: held-out targets predicted by a calibrated ensemble, misses reported as misses."""

import numpy as np
import pandas as pd

from experiments import calibrate as C
from experiments import heldout as V
from experiments import report
from experiments import targets as T
from sim import files


def _t(id_, value, low, high, interval="stated tolerance"):
    return T.Target(id_, "validate", "mixing", value, low, high, interval, "", "", "mixing_monthly_all", "all",
                    "a source", "", "")


def test_predictions_say_inside_or_not_for_values_and_for_significance():
    table = pd.DataFrame({"near": [0.45, 0.5, 0.55], "far": [0.9, 0.92, 0.95], "sig": [1.0, 1.0, 0.0]})
    pred = V.predictions(table, [_t("near", 0.48, 0.40, 0.56), _t("far", 0.5, 0.4, 0.6),
                                 _t("sig", 1.0, 0.5, 1.0, "sign and significance: size not read")])
    by = pred.set_index("target")
    assert by.loc["near", "inside"] and not by.loc["far", "inside"]
    assert by.loc["sig", "median"] == np.float64(2 / 3) and by.loc["sig", "inside"]
    text = V.markdown(pred, {"ensemble": "x"})
    assert "**2 of 3 held-out targets are met.**" in text
    assert "`far`: the ensemble predicts 0.92" in text and "above the observed" in text


def test_every_report_has_a_validation_section(tmp_path):
    missing = "".join(report.validation_html(tmp_path / "none"))
    assert "No validation has been published yet" in missing
    pred = V.predictions(pd.DataFrame({"a": [0.1, 0.2]}), [_t("a", 0.5, 0.4, 0.6)])
    folder = files.OutputFolder(tmp_path / "v", "validation", "k")  # published as experiment=validate publishes
    with folder.session(), folder.stage() as tmp:
        pred.to_csv(tmp / "validation.csv", index=False)
    shown = "".join(report.validation_html(tmp_path / "v"))
    assert "0 of 1 targets held out from calibration are met" in shown and "NO" in shown


def test_a_tiny_ensemble_is_validated_on_held_out_targets_only(tmp_path, monkeypatch):
    study = {"area": "walsall", "seed": 5, "scale": 0.003, "weeks": 6, "model": {}, "interventions": {},
             "replicates": 1, "name": "calibrate", "kind": "calibrate", "waves": 1, "points": 5, "ensemble_size": 2,
             "max_ensemble_runs": 2, "candidates": 300, "max_candidates": 600, "trial_scale": 0.02, "cutoff": 1000,
             "discrepancy": 0.5,
             "parameters": ["model.language.class_hour"], "workers": 1, "publish": str(tmp_path / "ens")}
    C.run(study, tmp_path / "cal", progress=False)  # an implausibility cut-off no run fails: 2 members
    seen = []
    simulate = T.simulate
    monkeypatch.setattr(T, "simulate", lambda targets, ctx: (seen.extend(t.role for t in targets),
                                                            simulate(targets, ctx))[1])
    out = V.run({"area": "walsall", "seed": 1, "scale": 0.003, "weeks": 6, "model": {}, "interventions": {},
                 "replicates": 1, "name": "validate", "kind": "validate", "ensemble": str(tmp_path / "ens"),
                 "members": 2, "workers": 1, "publish": False}, tmp_path / "val", progress=False)
    assert set(seen) == {"validate"}
    pred = pd.read_csv(out / "validation.csv")
    assert set(pred["target"]) == {t.id for t in T.load("validate")} and (pred["members"] == 2).all()
    assert "held-out targets are met" in (out / "validation.md").read_text()
