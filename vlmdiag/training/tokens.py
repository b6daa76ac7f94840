"""The token diagnostic: how small perception is inside CoT supervision.

On SFT rows and a model's tokenizer: the share of response tokens that transcribe p*; with the
model's weights as well, the share of the token-averaged loss those tokens carry. Under the
ordinary token-averaged loss that share *is* perception's weight in the gradient signal, which is
what span reweighting corrects. Tokens are counted exactly as the SFT collator masks them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vlmdiag.training.collate import SpanCollator
from vlmdiag.training.losses import shifted


@dataclass
class Share:
    """Counts and summed losses of one task's rows."""

    task: str
    rows: int = 0
    perception_tokens: int = 0
    response_tokens: int = 0
    perception_loss: float = 0.0
    response_loss: float = 0.0

    @property
    def token_share(self) -> float:
        return self.perception_tokens / max(self.response_tokens, 1)

    @property
    def loss_share(self) -> float | None:
        return self.perception_loss / self.response_loss if self.response_loss > 0 else None


def token_shares(rows, processor, model=None, batch_size: int = 4) -> dict[str, Share]:
    """Per-task shares over `rows` (dicts with the train_sft columns)."""
    collate = SpanCollator(processor)
    shares: dict[str, Share] = {}
    for start in range(0, len(rows), batch_size):
        chunk = [rows[i] for i in range(start, min(start + batch_size, len(rows)))]
        batch = collate(chunk)
        nll = _token_nll(model, batch) if model is not None else None
        for i, row in enumerate(chunk):
            share = shares.setdefault(row["task"], Share(row["task"]))
            p, r = shifted(batch["perception_mask"])[i], shifted(batch["reasoning_mask"])[i]
            share.rows += 1
            share.perception_tokens += int(p.sum())
            share.response_tokens += int(p.sum() + r.sum())
            if nll is not None:
                share.perception_loss += float(nll[i][p].sum())
                share.response_loss += float(nll[i][p | r].sum())
    return shares


def _token_nll(model, batch):
    """Per predicted token cross-entropy, shape (batch, length − 1)."""
    import torch

    inputs = {k: v.to(model.device) for k, v in batch.items()
              if k not in ("labels", "perception_mask", "reasoning_mask")}
    with torch.no_grad():
        logits = model(**inputs, use_cache=False).logits[:, :-1]
        targets = inputs["input_ids"][:, 1:]
        nll = torch.nn.functional.cross_entropy(logits.float().transpose(1, 2), targets, reduction="none")
    return nll.cpu()


def plot_shares(shares: dict[str, Share], path: Path) -> Path:
    """One pair of bars per task: perception's share of tokens and of the loss."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = sorted(shares)
    fig, ax = plt.subplots(figsize=(2.2 + 1.6 * len(tasks), 3.2))
    width = 0.38
    for k, (label, values) in enumerate([
        ("tokens", [shares[t].token_share for t in tasks]),
        ("loss", [shares[t].loss_share or 0.0 for t in tasks]),
    ]):
        if label == "loss" and all(shares[t].loss_share is None for t in tasks):
            continue
        xs = [i + (k - 0.5) * width for i in range(len(tasks))]
        bars = ax.bar(xs, [100 * v for v in values], width, label=f"share of {label}")
        ax.bar_label(bars, fmt="%.1f%%", fontsize=8)
    ax.set_xticks(range(len(tasks)), tasks)
    ax.set_ylabel("perception (%)")
    ax.set_title("Perception inside the supervised response")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path
