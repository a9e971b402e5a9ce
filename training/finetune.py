"""Fine-tuning MiniLM for intent classification.

Recipe: the pretrained all-MiniLM-L6-v2 encoder under a fresh linear head
(``AutoModelForSequenceClassification``), AdamW with a higher learning rate for the new head
than for the pretrained encoder (the head starts from random weights and must catch up first),
linear warm-up then linear decay, dynamic padding. A stratified slice of the data is held out to
fit the softmax temperature when there is enough of it, so that probabilities can drive handoff.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from bot.errors import TrainingError
from training.calibration import fit_temperature
from training.config import TrainingConfig
from training.data import IntentData, stratified_split
from training.transformer import TransformerIntentClassifier, load_base

logger = logging.getLogger(__name__)

ProgressFactory = Callable[..., tqdm]


def pick_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def fine_tune(
    data: IntentData,
    *,
    config: TrainingConfig | None = None,
    progress: bool = True,
    device: torch.device | None = None,
    metadata: dict[str, object] | None = None,
) -> TransformerIntentClassifier:
    """Train a classifier on ``data`` and return it calibrated and ready to predict."""
    config = config or TrainingConfig()
    labels = data.label_names
    if len(labels) < 2:
        raise TrainingError("training needs at least two intents")
    if len(data) < 2 * len(labels):
        raise TrainingError("training needs at least two examples per intent")
    device = device or pick_device()
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)

    train_data, calibration = data, IntentData([], [])
    if len(data) * config.calibration_fraction >= config.min_calibration_examples:
        train_data, calibration = stratified_split(data, config.calibration_fraction, seed=config.seed)

    model, tokenizer = load_base(len(labels), labels)
    model.to(device)  # type: ignore[arg-type]
    label_index = {label: i for i, label in enumerate(labels)}
    targets = [label_index[label] for label in train_data.labels]

    head = [p for n, p in model.named_parameters() if n.startswith("classifier.")]
    body_decay = [
        p
        for n, p in model.named_parameters()
        if not n.startswith("classifier.") and not n.endswith("bias") and "LayerNorm" not in n
    ]
    body_no_decay = [
        p
        for n, p in model.named_parameters()
        if not n.startswith("classifier.") and (n.endswith("bias") or "LayerNorm" in n)
    ]
    optimizer = torch.optim.AdamW(
        [
            {"params": body_decay, "lr": config.learning_rate, "weight_decay": config.weight_decay},
            {"params": body_no_decay, "lr": config.learning_rate, "weight_decay": 0.0},
            {"params": head, "lr": config.head_learning_rate, "weight_decay": 0.0},
        ]
    )
    steps_per_epoch = (len(train_data) + config.batch_size - 1) // config.batch_size
    total_steps = steps_per_epoch * config.epochs
    warmup = int(total_steps * config.warmup_fraction)
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup, total_steps)  # type: ignore[no-untyped-call]
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    use_amp = device.type == "cuda"
    rng = random.Random(config.seed)
    started = time.perf_counter()
    bar = tqdm(total=total_steps, desc="training intents", unit="step", disable=not progress)
    model.train()
    for epoch in range(config.epochs):
        order = list(range(len(train_data)))
        rng.shuffle(order)
        running = 0.0
        for step in range(steps_per_epoch):
            batch = order[step * config.batch_size : (step + 1) * config.batch_size]
            encoded = tokenizer(
                [train_data.texts[i] for i in batch],
                padding=True,
                truncation=True,
                max_length=config.max_length,
                return_tensors="pt",
            ).to(device)
            target = torch.tensor([targets[i] for i in batch], device=device)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
                logits = model(**encoded).logits
            loss = loss_fn(logits.float(), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            running = 0.9 * running + 0.1 * loss.item() if step else loss.item()
            bar.set_postfix(epoch=epoch + 1, loss=f"{running:.3f}")
            bar.update(1)
    bar.close()
    model.eval()  # type: ignore[no-untyped-call]
    classifier = TransformerIntentClassifier(
        model,
        tokenizer,
        labels=labels,
        max_length=config.max_length,
        metadata={
            "training": config.to_dict(),
            "train_examples": len(train_data),
            "train_seconds": round(time.perf_counter() - started, 1),
            **(metadata or {}),
        },
    )
    if len(calibration):
        logits = classifier.logits(calibration.texts)
        gold = np.array([label_index[label] for label in calibration.labels], dtype=np.int64)
        classifier.temperature = fit_temperature(logits, gold)
        logger.info("fitted temperature %.3f on %d held-out examples", classifier.temperature, len(calibration))
    return classifier
