"""Tiny random-weight vision-language models, built offline in seconds, for tests and benchmarks.

Two families, because their chat templates and image tokens differ and a harness that works for
only one is wrong for half its users: a Qwen2-VL-style model and an InternVL in Hugging Face
format. Both are saved with their processor into one directory that vLLM and transformers load.

The weights are random, so the text is junk; what matters is that it is *varied* junk (tests of
parsing, scoring and resume need records that differ), hence untied embeddings and a wide
initialiser: with the defaults both models only repeat their last input token.
"""
from __future__ import annotations

from pathlib import Path

# Text like the prompts and responses, so the tokenizer has merges for what it will see.
_CORPUS = [
    "Perception:\nReasoning:\nAnswer:\n",
    "The image shows a graph with vertices labelled 0 to 9. List every edge as [i, j] with i < j.",
    "Determine the chromatic number first, then colour each vertex with letters a, b, c, d.",
    "Describe the sudoku grid as a 9x9 JSON list with integers 1-9 and \"-\" for empty cells.",
    '[[5, 3, "-", "-", 7, "-", "-", "-", "-"], [6, "-", "-", 1, 9, 5, "-", "-", "-"]]',
    '{"0": "a", "1": "b", "2": "c"} [[0, 1], [0, 5], [1, 2], [2, 3], [3, 4]]',
    "Solve the puzzle and give the completed grid. Adjacent vertices must differ in colour.",
    "0 1 2 3 4 5 6 7 8 9 a b c d e f g h i j k l m n o p q r s t u v w x y z , . : ; - [ ] { }",
]
_COMMON_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# ChatML; the image part is the only thing that differs between the families. Message content
# may be a string or a list of parts (the OpenAI form vLLM and transformers both pass).
_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'text' %}{{ part['text'] }}"
    "{% elif part['type'] in ('image', 'image_url', 'image_pil') %}IMAGE_PART{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_TEXT = dict(hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=2,
             num_key_value_heads=1, head_dim=64, max_position_embeddings=4096, initializer_range=0.2)


def _tokenizer(specials: list[str], image_part: str, extra: dict | None = None):
    """A byte-level BPE of a few hundred tokens with ChatML special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=384, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(_CORPUS, trainer=trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                  chat_template=_TEMPLATE.replace("IMAGE_PART", image_part),
                                  extra_special_tokens=extra or {})
    tok.add_special_tokens({"additional_special_tokens": specials}, replace_extra_special_tokens=False)
    return tok


def _build(model_cls, config, seed: int):
    """Random init from a fixed seed without touching the caller's torch random state."""
    import torch

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return model_cls(config).to(torch.float32)


def tiny_qwen2vl(directory: str | Path, seed: int = 0) -> Path:
    """Write a ~0.4 M-parameter Qwen2-VL-style model and its processor to ``directory``."""
    from transformers import (Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLImageProcessor,
                              Qwen2VLProcessor, Qwen2VLVideoProcessor)

    vision = ["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
    tok = _tokenizer(_COMMON_SPECIALS + vision, "<|vision_start|><|image_pad|><|vision_end|>")
    ids = {t: tok.convert_tokens_to_ids(t) for t in _COMMON_SPECIALS + vision}
    # vLLM's CPU attention rejects head_dim 16; 64 works. mrope sections sum to head_dim / 2.
    text = dict(_TEXT, vocab_size=len(tok), rope_parameters={"rope_type": "default", "rope_theta": 1e6,
                                                             "mrope_section": [8, 12, 12]},
                bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"],
                pad_token_id=ids["<|endoftext|>"])
    config = Qwen2VLConfig(
        text_config=text,
        vision_config=dict(depth=2, embed_dim=32, hidden_size=128, num_heads=2, patch_size=14,
                           spatial_merge_size=2, initializer_range=0.2),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False)
    processor = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor(min_pixels=28 * 28 * 4, max_pixels=28 * 28 * 64),
        tokenizer=tok, video_processor=Qwen2VLVideoProcessor(), chat_template=tok.chat_template)
    return _save(directory, _build(Qwen2VLForConditionalGeneration, config, seed), processor)


def tiny_internvl(directory: str | Path, seed: int = 0) -> Path:
    """Write a ~0.5 M-parameter InternVL (Hugging Face format) and its processor to ``directory``."""
    from transformers import (GotOcr2ImageProcessor, InternVLConfig, InternVLForConditionalGeneration,
                              InternVLProcessor, InternVLVideoProcessor)

    image_tokens = {"start_image_token": "<img>", "end_image_token": "</img>",
                    "context_image_token": "<IMG_CONTEXT>", "video_token": "<video>"}
    tok = _tokenizer(_COMMON_SPECIALS + list(image_tokens.values()), "<IMG_CONTEXT>\n", image_tokens)
    size = {"height": 28, "width": 28}
    # ImageNet statistics, as the real checkpoints use.
    norm = dict(image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])
    eos, pad = tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")
    config = InternVLConfig(
        text_config=dict(_TEXT, model_type="qwen2", vocab_size=len(tok), bos_token_id=pad,
                         eos_token_id=eos, pad_token_id=pad, tie_word_embeddings=False),
        vision_config=dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128,
                           image_size=[28, 28], patch_size=[14, 14], norm_type="layer_norm",
                           use_mean_pooling=True, use_absolute_position_embeddings=True, use_qk_norm=False,
                           initializer_range=0.2),
        # image_seq_length = (28 / 14)^2 * downsample_ratio^2 = 1
        image_token_id=tok.convert_tokens_to_ids("<IMG_CONTEXT>"), image_seq_length=1, downsample_ratio=0.5,
        tie_word_embeddings=False)
    processor = InternVLProcessor(
        image_processor=GotOcr2ImageProcessor(size=size, crop_to_patches=False, min_patches=1, max_patches=1, **norm),
        tokenizer=tok, video_processor=InternVLVideoProcessor(size=size, **norm), image_seq_length=1,
        chat_template=tok.chat_template)
    return _save(directory, _build(InternVLForConditionalGeneration, config, seed), processor)


def _save(directory: str | Path, model, processor) -> Path:
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path
