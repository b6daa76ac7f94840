"""Dataset rows -> model inputs plus the two token masks the span losses train on.

Each `train_sft` row carries its response and the character offsets of the perception span. The
prompt (chat template with the image, then the query) goes through the model's processor, which
expands the image placeholder; the completion (the response as the chat template closes an
assistant turn) is tokenized on its own with offsets, so each completion token knows the characters
it covers. Tokenizing the two parts separately is also what TRL's prompt-completion collator does.

Token classes, on the completion only (prompt and image tokens are never trained on):
  perception: every token that overlaps the perception span. BPE can merge the span's last
              character with what follows ("]]\\n\\n"); such a token carries perception
              characters, so it counts as perception.
  reasoning:  every other completion token, the "Perception:" header and the end-of-turn token
              included, so that every token of a response is trained under every loss.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from vlmdiag.errors import VlmdiagError

IGNORE = -100
SPAN_COLUMNS = ("response", "perception_start", "perception_end")


def user_turn(query: str) -> list[dict]:
    """The conversation a row's prompt is: one user turn, image first, then the query."""
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": query}]}]


def completion_text(processor, query: str, response: str) -> tuple[str, int]:
    """The text the chat template appends after the generation prompt, and where `response` starts in it."""
    messages = user_turn(query)
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    reply = [{"role": "assistant", "content": [{"type": "text", "text": response}]}]
    full = processor.apply_chat_template(messages + reply, tokenize=False)
    if not full.startswith(prompt) or response not in full[len(prompt):]:
        raise VlmdiagError("the model's chat template does not end a conversation with the assistant reply as written")
    completion = full[len(prompt):]
    return completion, completion.index(response)


def span_masks(offsets: list[tuple[int, int]], span: tuple[int, int]) -> tuple[list[bool], list[bool]]:
    """Perception / reasoning flags per completion token from its (start, end) character offsets."""
    start, end = span
    perception = [s < end and e > start for s, e in offsets]
    return perception, [not p for p in perception]


@dataclass
class SpanCollator:
    """Callable collator for `SFTTrainer`: rows in, padded tensors with span masks out.

    Outputs input_ids, attention_mask, labels (IGNORE outside the completion), the processor's image
    tensors, and boolean `perception_mask` / `reasoning_mask` aligned with input_ids.
    """

    processor: Any
    max_length: int | None = None

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        return pad_batch([self.encode(row) for row in rows], self.processor.tokenizer.pad_token_id)

    def encode(self, row: dict) -> dict[str, torch.Tensor]:
        missing = [c for c in SPAN_COLUMNS if row.get(c) in (None, "")]
        if missing:
            raise VlmdiagError(f"row {row.get('id', '?')} has no {', '.join(missing)}: SFT needs the train_sft split")
        prompt = self.processor.apply_chat_template(user_turn(row["query"]), add_generation_prompt=True,
                                                    tokenize=False)
        encoded = self.processor(images=[row["image"]], text=[prompt], return_tensors="pt",
                                 add_special_tokens=False)
        completion, shift = completion_text(self.processor, row["query"], row["response"])
        tokens = self.processor.tokenizer(completion, add_special_tokens=False, return_offsets_mapping=True)
        offsets = [(s - shift, e - shift) for s, e in tokens["offset_mapping"]]
        perception, reasoning = span_masks(offsets, (row["perception_start"], row["perception_end"]))
        return self._join(encoded, tokens["input_ids"], perception, reasoning)

    def _join(self, encoded, completion_ids: list[int], perception: list[bool], reasoning: list[bool]) -> dict:
        prompt_ids = encoded.pop("input_ids")[0]
        encoded.pop("attention_mask")
        n_prompt = len(prompt_ids)
        keep = len(completion_ids)
        if self.max_length is not None:
            if n_prompt >= self.max_length:
                raise VlmdiagError(f"max_length {self.max_length} leaves no room after a {n_prompt}-token prompt")
            keep = min(keep, self.max_length - n_prompt)
        ids = torch.cat([prompt_ids, torch.tensor(completion_ids[:keep], dtype=prompt_ids.dtype)])
        silent = torch.zeros(n_prompt, dtype=torch.bool)
        out = {
            "input_ids": ids,
            "labels": torch.cat([torch.full((n_prompt,), IGNORE, dtype=ids.dtype), ids[n_prompt:]]),
            "perception_mask": torch.cat([silent, torch.tensor(perception[:keep], dtype=torch.bool)]),
            "reasoning_mask": torch.cat([silent, torch.tensor(reasoning[:keep], dtype=torch.bool)]),
        }
        for key, value in encoded.items():
            # Per-token extras (e.g. Qwen's mm_token_type_ids) follow the sequence; the completion is text.
            if value.dim() == 2 and value.shape == (1, n_prompt):
                out[key] = torch.cat([value[0], value.new_zeros(keep)])
            else:
                out[key] = value
        return out


def pad_batch(items: list[dict[str, torch.Tensor]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad the per-token tensors; concatenate the image tensors along their first axis."""
    length = max(len(item["input_ids"]) for item in items)
    per_token = {k for k, v in items[0].items() if v.dim() == 1 and len(v) == len(items[0]["input_ids"])}
    fill = {"input_ids": pad_id, "labels": IGNORE}
    batch: dict[str, torch.Tensor] = {}
    for key in items[0]:
        if key in per_token:
            rows = [torch.nn.functional.pad(item[key], (0, length - len(item[key])), value=fill.get(key, 0))
                    for item in items]
            batch[key] = torch.stack(rows)
        else:
            batch[key] = torch.cat([item[key] for item in items])
    batch["attention_mask"] = torch.stack(
        [torch.arange(length) < len(item["input_ids"]) for item in items]).long()
    return batch
