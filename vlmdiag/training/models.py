"""Loading the model to train, choosing what trains (LoRA, frozen vision tower), and saving a checkpoint.

A checkpoint is always a full model plus its processor in one folder (LoRA adapters are merged
before saving), so `vlmdiag eval` and `train grpo --model` load it like any Hub model.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vlmdiag.errors import VlmdiagError

# Parameter-name fragments of the vision encoder in the supported families (Qwen-VL: `visual`,
# InternVL / LLaVA-style: `vision_tower`); the projector into the language model stays trainable.
VISION_PARTS = ("visual", "vision_tower", "vision_model")


@dataclass(frozen=True)
class Tuning:
    """What trains: LoRA rank (0 = full fine-tuning) and whether the vision encoder is frozen."""

    lora_rank: int = 0
    lora_alpha: int = 32
    freeze_vision: bool = False

    def peft_config(self):
        if self.lora_rank <= 0:
            return None
        from peft import LoraConfig

        # all-linear leaves out the output head, which TRL's fused head would never train anyway.
        return LoraConfig(r=self.lora_rank, lora_alpha=self.lora_alpha, target_modules="all-linear",
                          exclude_modules=_vision_regex() if self.freeze_vision else None, task_type="CAUSAL_LM")


def _vision_regex() -> str:
    return r".*(" + "|".join(VISION_PARTS) + r").*"


def load_model(name: str, dtype: str = "auto"):
    """The model and its processor, from a Hub id or a local folder."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    try:
        processor = AutoProcessor.from_pretrained(name)
        model = AutoModelForImageTextToText.from_pretrained(name, dtype=dtype)
    except OSError as e:
        raise VlmdiagError(f"cannot load model {name!r}: {str(e).splitlines()[0]}") from None
    return model, processor


def freeze_vision(model) -> int:
    """Stop gradients into the vision encoder; returns how many parameters were frozen."""
    frozen = 0
    for name, param in model.named_parameters():
        if any(part in name for part in VISION_PARTS):
            param.requires_grad_(False)
            frozen += param.numel()
    if frozen == 0:
        raise VlmdiagError("--freeze-vision: found no vision encoder parameters in this model")
    return frozen


def save_checkpoint(model, processor, out: Path) -> Path:
    """A full-weight model and its processor in `out`, LoRA merged."""
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out
