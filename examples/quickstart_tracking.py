"""Track a few scikit-learn models with Pomona: one run per model.

    pip install 'pomona[sklearn]'
    python examples/quickstart_tracking.py
    pomona runs list --order-by "metrics.accuracy desc"
    pomona server                      # then open http://127.0.0.1:8000/

Runs go to the workspace of the current folder (found upwards from it; created here if
there is none). 'pomona demo tracking' does the same with more models and metrics.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import skops.io as sio
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import pomona as pm

X, y = load_breast_cancer(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)

models = {
    "logreg-C0.1": make_pipeline(StandardScaler(), LogisticRegression(C=0.1)),
    "logreg-C1": make_pipeline(StandardScaler(), LogisticRegression(C=1.0)),
    "forest-50": RandomForestClassifier(n_estimators=50, max_depth=6, random_state=0),
}

for name, model in models.items():
    with pm.start_run(name=name, experiment="quickstart-sdk") as run:
        run.log_params({"model": name.split("-")[0], "dataset": "breast_cancer"})
        model.fit(X_train, y_train)
        predicted = model.predict(X_val)
        run.log_metrics(
            {
                "accuracy": accuracy_score(y_val, predicted),
                "f1": f1_score(y_val, predicted),
                "roc_auc": roc_auc_score(y_val, model.predict_proba(X_val)[:, 1]),
            }
        )
        with tempfile.TemporaryDirectory() as folder:  # skops: a safe format, no pickle
            path = Path(folder) / "model.skops"
            sio.dump(model, path)
            run.log_artifact(path)
        print(f"{name}: accuracy {accuracy_score(y_val, predicted):.3f} (run {run.run_id[:8]})")

print('Next: pomona runs list --order-by "metrics.accuracy desc"')
