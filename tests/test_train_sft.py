"""Span masks, the span / token losses and NGDiff's λ, checked against hand computations on a tiny model."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

import datasets  # noqa: E402
from PIL import Image  # noqa: E402

from vlmdiag.tasks.base import write_response  # noqa: E402
from vlmdiag.training.collate import SpanCollator, span_masks  # noqa: E402
from vlmdiag.training.ngdiff import LambdaController, ngdiff_lambda  # noqa: E402
from vlmdiag.training.sft import SpanSFTConfig, SpanSFTTrainer  # noqa: E402


def make_rows(n: int) -> list[dict]:
    """Rows shaped like train_sft: varied images, perception spans of different lengths."""
    rows = []
    for i in range(n):
        edges = ", ".join(f"[{j}, {j + 1 + i % 3}]" for j in range(1 + i % 4))
        trace = write_response(f"[{edges}]", f"vertex {i} gets a, vertex {i + 1} gets b", '{"0": "a", "1": "b"}')
        rows.append({
            "id": f"row-{i}", "query": "List the edges, then colour the graph.",
            "image": Image.new("RGB", (56 + 14 * (i % 2), 56), (40 * i % 255, 90, 200)),
            "response": trace.text, "perception_start": trace.perception_span[0],
            "perception_end": trace.perception_span[1],
        })
    return rows


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from vlmdiag.testing import tiny_qwen2vl

    return tiny_qwen2vl(tmp_path_factory.mktemp("tiny") / "qwen")


@pytest.fixture(scope="module")
def processor(model_dir):
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(model_dir)


def make_trainer(model_dir, processor, rows, tmp_path, **overrides) -> SpanSFTTrainer:
    from transformers import AutoModelForImageTextToText

    settings = dict(output_dir=str(tmp_path / "out"), per_device_train_batch_size=2, max_steps=1, use_cpu=True,
                    bf16=False, report_to=[], logging_steps=1, save_strategy="no", max_length=None,
                    learning_rate=1e-3, seed=0)
    settings.update(overrides)
    model = AutoModelForImageTextToText.from_pretrained(model_dir)
    return SpanSFTTrainer(model=model, args=SpanSFTConfig(**settings), train_dataset=datasets.Dataset.from_list(rows),
                          processing_class=processor, data_collator=SpanCollator(processor))


def hand_span_losses(model, batch) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """Lp, Lr from full logits and an explicit shift, independently of the fused LM head."""
    inputs = {k: v for k, v in batch.items() if k not in ("labels", "perception_mask", "reasoning_mask")}
    logits = model(**inputs, use_cache=False).logits[:, :-1].float()
    targets = batch["input_ids"][:, 1:]
    nll = -torch.log_softmax(logits, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    p, r = batch["perception_mask"][:, 1:], batch["reasoning_mask"][:, 1:]
    return nll[p].sum() / p.sum(), nll[r].sum() / r.sum(), int(p.sum()), int(r.sum())


# -- masks ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def internvl_processor(tmp_path_factory):
    from transformers import AutoProcessor

    from vlmdiag.testing import tiny_internvl

    return AutoProcessor.from_pretrained(tiny_internvl(tmp_path_factory.mktemp("tiny") / "internvl"))


@pytest.mark.parametrize("family", ["processor", "internvl_processor"])
def test_masks_decode_to_exactly_the_span_texts(family, request):
    processor = request.getfixturevalue(family)
    rows = make_rows(3)
    batch = SpanCollator(processor)(rows)
    tok = processor.tokenizer
    for i, row in enumerate(rows):
        ids = batch["input_ids"][i]
        perception = row["response"][row["perception_start"]:row["perception_end"]]
        assert tok.decode(ids[batch["perception_mask"][i]]) == perception
        reasoning = tok.decode(ids[batch["reasoning_mask"][i]])
        assert reasoning == "Perception:\n" + row["response"][row["perception_end"]:] + "<|im_end|>\n"


def test_prompt_image_and_padding_tokens_are_never_trained(processor):
    batch = SpanCollator(processor)(make_rows(2))
    trained = batch["labels"] != -100
    assert torch.equal(trained, batch["perception_mask"] | batch["reasoning_mask"])
    assert not (batch["perception_mask"] & batch["reasoning_mask"]).any()
    image_id = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert not trained[batch["input_ids"] == image_id].any()
    assert not trained[batch["attention_mask"] == 0].any()
    assert torch.equal(batch["labels"][trained], batch["input_ids"][trained])


def test_a_token_straddling_the_span_end_counts_as_perception():
    # offsets of "[[", "0]]\n", "\nok" around a span [0, 5)
    perception, reasoning = span_masks([(0, 2), (2, 6), (6, 9)], (0, 5))
    assert perception == [True, True, False] and reasoning == [False, False, True]


# -- losses -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["span", "token"])
def test_loss_equals_hand_computation_on_a_fixed_batch(model_dir, processor, tmp_path, kind):
    rows = make_rows(2)
    trainer = make_trainer(model_dir, processor, rows, tmp_path, span_loss=kind, span_lambda=0.3)
    batch = SpanCollator(processor)(rows)
    with torch.no_grad():
        lp, lr, n_p, n_r = hand_span_losses(trainer.model, batch)
    trainer.model.train()
    trainer.step_counts = (n_p, n_r)
    with torch.no_grad():
        got = trainer.compute_loss(trainer.model, dict(batch))
    expected = 0.3 * lp + 0.7 * lr if kind == "span" else (lp * n_p + lr * n_r) / (n_p + n_r)
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)


def test_span_loss_is_the_step_mean_under_gradient_accumulation(model_dir, processor, tmp_path):
    rows = make_rows(2)  # different perception lengths, so per-micro-batch means would weight them wrongly
    trainer = make_trainer(model_dir, processor, rows, tmp_path, span_loss="span", span_lambda=0.4)
    model, collate = trainer.model, SpanCollator(processor)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]

    micro = [collate([row]) for row in rows]
    trainer.get_batch_samples(iter(micro), 2, torch.device("cpu"))
    for batch in micro:
        trainer.training_step(model, dict(batch))  # the Trainer's own path: it must not rescale our loss
    accumulated = [p.grad.clone() for p in params]
    model.zero_grad()

    lp, lr, _, _ = hand_span_losses(model, collate(rows))
    (0.4 * lp + 0.6 * lr).backward()
    for a, b in zip(accumulated, (p.grad for p in params)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


# -- NGDiff -------------------------------------------------------------------------------------

def test_ngdiff_lambda_equals_two_separate_backward_passes(model_dir, processor, tmp_path):
    rows = make_rows(2)
    trainer = make_trainer(model_dir, processor, rows, tmp_path, span_loss="ngdiff")
    model, batch = trainer.model, SpanCollator(processor)(rows)
    params = [p for p in model.parameters() if p.requires_grad]
    model.train()

    lp, lr, _, _ = hand_span_losses(model, batch)
    lp.backward(retain_graph=True)
    g_p = [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in params]
    model.zero_grad()
    lr.backward()
    g_r = [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in params]
    model.zero_grad()
    norm_p = torch.sqrt(sum((g ** 2).sum() for g in g_p)).item()
    norm_r = torch.sqrt(sum((g ** 2).sum() for g in g_r)).item()
    expected = norm_r / (norm_p + norm_r)

    trainer.get_batch_samples(iter([batch]), 1, torch.device("cpu"))
    trainer.training_step(model, dict(batch))
    assert trainer.lam.value == pytest.approx(expected, rel=1e-4)
    for p, a, b in zip(params, g_p, g_r):
        torch.testing.assert_close(p.grad, expected * a + (1 - expected) * b, rtol=1e-3, atol=1e-6)


def test_ngdiff_refreshes_lambda_only_every_k_steps(model_dir, processor, tmp_path):
    trainer = make_trainer(model_dir, processor, make_rows(4), tmp_path, span_loss="ngdiff", ngdiff_every=2,
                           max_steps=4)
    trainer.train()
    logs = [h for h in trainer.state.log_history if "loss_perception" in h]
    assert [("grad_norm_perception" in h) for h in logs] == [True, False, True, False]
    assert logs[0]["lambda"] == logs[1]["lambda"] and logs[2]["lambda"] == logs[3]["lambda"]
    assert all(0.0 < h["lambda"] < 1.0 for h in logs)


def test_lambda_controller_smooths_and_clamps():
    assert ngdiff_lambda(1.0, 3.0) == 0.75 and ngdiff_lambda(0.0, 0.0) is None
    lam = LambdaController(every=3, smoothing=0.5, low=0.2, high=0.7, value=0.5)
    assert [lam.due(s) for s in range(7)] == [True, False, False, True, False, False, True]
    assert lam.update(1.0, 3.0) == 0.7            # first measurement 0.75, clamped
    assert lam.update(3.0, 1.0) == pytest.approx(0.5 * 0.7 + 0.5 * 0.25)
    assert lam.update(0.0, 0.0) == pytest.approx(0.475)  # no gradient: λ kept


def test_loss_goes_down_over_steps_on_a_fixed_batch(model_dir, processor, tmp_path):
    rows = make_rows(2)
    trainer = make_trainer(model_dir, processor, rows, tmp_path, span_loss="span", span_lambda=0.5, max_steps=6,
                           num_train_epochs=6)
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == 6 and losses[-1] < 0.7 * losses[0]
