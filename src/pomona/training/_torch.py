"""A PyTorch classifier that is both an ``nn.Module`` (so the registry's torch flavor saves it
as safetensors and rebuilds it from ``init_kwargs``) and a scikit-learn-like estimator
(``fit`` with early stopping, ``predict``, ``predict_proba``, ``classes_``).

Imports torch at module level: import it only where PyTorch is installed (``pomona[torch]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from pomona.errors import InvalidInputError

__all__ = ["ARCHS", "TorchClassifier"]

ARCHS = ("apple_cnn", "mlp")


def _check(arr: NDArray[Any]) -> NDArray[Any]:
    if arr.ndim not in (2, 4):
        raise InvalidInputError(
            f"The PyTorch model takes images (n x h x w x c) or a table (n x d); got {arr.shape}.",
            details={"field": "X"},
        )
    return arr


class TorchClassifier(nn.Module):
    """Trains a small network with Adam and cross-entropy, holding out ``val_fraction`` of
    the training data; stops when the validation loss has not improved for ``patience``
    epochs and keeps the best weights. Runs on CUDA when available, else on the CPU.

    Input: raw images ``n x h x w x c`` (scaled by ``1/scale`` inside) or a table ``n x d``.
    Learned state: ``classes_``, ``history_`` (one dict per epoch), ``best_epoch_``.
    """

    def __init__(
        self,
        *,
        arch: str = "apple_cnn",
        width: int = 16,
        dropout: float = 0.1,
        epochs: int = 20,
        lr: float = 2e-3,
        batch_size: int = 64,
        patience: int = 3,
        val_fraction: float = 0.15,
        device: str | None = None,
        seed: int = 0,
        scale: float = 255.0,
        classes: list[Any] | None = None,
        in_features: int | None = None,
    ) -> None:
        super().__init__()
        if arch not in ARCHS:
            raise InvalidInputError(
                f"Unknown architecture '{arch}'.",
                hint=f"Use one of {', '.join(ARCHS)}.",
                details={"field": "arch"},
            )
        self.init_kwargs: dict[str, Any] = {
            "arch": arch,
            "width": width,
            "dropout": dropout,
            "epochs": epochs,
            "lr": lr,
            "batch_size": batch_size,
            "patience": patience,
            "val_fraction": val_fraction,
            "device": device,
            "seed": seed,
            "scale": scale,
            "classes": classes,
            "in_features": in_features,
        }
        self.net: nn.Module | None = None
        self.history_: list[dict[str, float]] = []
        self.best_epoch_ = 0
        if classes is not None and in_features is not None:
            self.net = self._build(len(classes), in_features)

    def _build(self, n_classes: int, in_features: int) -> nn.Module:
        kw = self.init_kwargs
        if kw["arch"] == "mlp":
            hidden = 4 * kw["width"]
            return nn.Sequential(
                nn.Linear(in_features, hidden),
                nn.ReLU(),
                nn.Dropout(kw["dropout"]),
                nn.Linear(hidden, n_classes),
            )
        from pomona.registry.flavors._apple_cnn import AppleCNN

        return AppleCNN(n_classes, in_features, width=kw["width"], dropout=kw["dropout"])

    @property
    def classes_(self) -> NDArray[Any]:
        return np.asarray(self.init_kwargs["classes"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of raw images (``n x h x w x c``) or table rows."""
        assert self.net is not None, "fit the model first"
        if x.ndim == 4:
            x = x.permute(0, 3, 1, 2) / self.init_kwargs["scale"]
        return self.net(x)  # type: ignore[no-any-return]

    def _tensor(self, X: Any) -> torch.Tensor:
        arr = _check(np.asarray(X))
        return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))

    def fit(self, X: Any, y: Any) -> TorchClassifier:
        kw = self.init_kwargs
        torch.manual_seed(kw["seed"])
        device = kw["device"] or ("cuda" if torch.cuda.is_available() else "cpu")
        data = self._tensor(X)
        classes, codes = np.unique(np.asarray(y), return_inverse=True)
        kw["classes"] = classes.tolist()
        kw["in_features"] = int(data.shape[-1] if data.ndim == 4 else data.shape[1])
        self.net = self._build(len(classes), kw["in_features"])
        self.to(device)
        target = torch.from_numpy(codes.astype(np.int64))
        order = np.random.default_rng(kw["seed"]).permutation(len(codes))
        n_val = int(len(codes) * kw["val_fraction"]) if len(codes) >= 20 else 0
        val, tr = order[:n_val], order[n_val:]
        opt = torch.optim.Adam(self.parameters(), lr=kw["lr"])
        best, best_state, waited = float("inf"), self._state(), 0
        self.history_ = []
        for epoch in range(kw["epochs"]):
            loss = self._epoch(opt, data[tr], target[tr], device, epoch)
            val_loss, val_acc = self._score(data[val], target[val]) if n_val else (loss, 0.0)
            self.history_.append(
                {"train_loss": loss, "val_loss": val_loss, "val_accuracy": val_acc}
            )
            if val_loss < best - 1e-6:
                best, best_state, waited, self.best_epoch_ = val_loss, self._state(), 0, epoch
            else:
                waited += 1
                if waited >= kw["patience"]:
                    break
        self.load_state_dict(best_state)
        return self.eval()

    def _state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.state_dict().items()}

    def _epoch(self, opt: Any, X: torch.Tensor, y: torch.Tensor, device: str, epoch: int) -> float:
        self.train()
        size = self.init_kwargs["batch_size"]
        gen = torch.Generator().manual_seed(self.init_kwargs["seed"] + epoch)
        order = torch.randperm(len(y), generator=gen)
        total = 0.0
        for start in range(0, len(y), size):
            idx = order[start : start + size]
            xb, yb = X[idx].to(device), y[idx].to(device)
            opt.zero_grad()
            loss = nn.functional.cross_entropy(self(xb), yb)
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            total += float(loss.item()) * len(idx)
        return total / max(1, len(y))

    def _logits(self, X: torch.Tensor) -> torch.Tensor:
        self.eval()
        device = next(self.parameters()).device
        out = []
        with torch.inference_mode():
            for start in range(0, len(X), 256):
                out.append(self(X[start : start + 256].to(device)).float().cpu())
        return torch.cat(out) if out else torch.zeros((0, len(self.classes_)))

    def _score(self, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        logits = self._logits(X)
        loss = float(nn.functional.cross_entropy(logits, y).item())
        return loss, float((logits.argmax(1) == y).float().mean().item())

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        logits = self._logits(self._tensor(X))
        return np.asarray(torch.softmax(logits, dim=1).numpy(), dtype=np.float64)

    def predict(self, X: Any) -> NDArray[Any]:
        return np.asarray(self.classes_[self.predict_proba(X).argmax(axis=1)])
