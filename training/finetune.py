"""Fine-tuning MiniLM for intent classification.

Recipe: the pretrained all-MiniLM-L6-v2 encoder under a fresh linear head
(``AutoModelForSequenceClassification``), AdamW with a higher learning rate for the new head
than for the pretrained encoder (the head starts from random weights and must catch up first;
this alone lifts BANKING77 after 3 epochs from 90.5% to 92.2% here), linear warm-up then linear
decay, dynamic padding, gradient clipping. With a validation set, accuracy is measured after
every epoch, training stops when it has not improved for ``early_stopping_patience`` epochs, and
the best epoch's weights are kept. Calibration and the ensemble live in ``training/intent_model.py``.
"""

from __future__ import annotations

import copy
import logging
import random
import time

import numpy as np
import torch
from transformers import get_linear_schedule_with_warmup

from bot.errors import TrainingError
from training.config import TrainingConfig
from training.data import IntentData
from training.progress import WHAT, TrainingProgress
from training.transformer import TransformerIntentClassifier, load_base

logger = logging.getLogger(__name__)


def pick_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def fine_tune(
    data: IntentData,
    *,
    validation: IntentData | None = None,
    labels: list[str] | None = None,
    config: TrainingConfig | None = None,
    progress: bool = True,
    device: torch.device | None = None,
    metadata: dict[str, object] | None = None,
) -> TransformerIntentClassifier:
    """Fine-tune on ``data``; with ``validation``, early-stop on its accuracy and keep the best epoch.

    The returned classifier has temperature 1: calibrate it on held-out data afterwards. With
    ``progress``, how far it is goes to stderr (:class:`~training.progress.TrainingProgress`).
    """
    config = config or TrainingConfig()
    labels = labels or data.label_names
    if len(labels) < 2:
        raise TrainingError("training needs at least two intents")
    if len(data) < len(labels):
        raise TrainingError("training needs at least one example per intent")
    device = device or pick_device()
    seed_everything(config.seed)

    model, tokenizer = load_base(len(labels), labels)
    model.to(device)  # type: ignore[arg-type]
    label_index = {label: i for i, label in enumerate(labels)}
    targets = [label_index[label] for label in data.labels]

    def is_head(name: str) -> bool:
        return name.startswith("classifier.")

    def no_decay(name: str) -> bool:
        return name.endswith("bias") or "LayerNorm" in name

    named = list(model.named_parameters())
    optimizer = torch.optim.AdamW(
        [
            {
                "params": [p for n, p in named if not is_head(n) and not no_decay(n)],
                "lr": config.learning_rate,
                "weight_decay": config.weight_decay,
            },
            {
                "params": [p for n, p in named if not is_head(n) and no_decay(n)],
                "lr": config.learning_rate,
                "weight_decay": 0.0,
            },
            {"params": [p for n, p in named if is_head(n)], "lr": config.head_learning_rate, "weight_decay": 0.0},
        ]
    )
    steps_per_epoch = (len(data) + config.batch_size - 1) // config.batch_size
    total_steps = steps_per_epoch * config.epochs
    warmup = int(total_steps * config.warmup_fraction)
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup, total_steps)  # type: ignore[no-untyped-call]
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    use_amp = device.type == "cuda"
    rng = random.Random(config.seed)
    classifier = TransformerIntentClassifier(model, tokenizer, labels=labels, max_length=config.max_length)
    started = time.perf_counter()
    best_accuracy, best_state, best_epoch, stale = -1.0, None, 0, 0
    history: list[dict[str, float]] = []
    headline = (
        f"{WHAT} on {len(data)} examples of {len(labels)} intents: {config.epochs} epochs of {steps_per_epoch} steps"
    )
    if validation is not None and len(validation):
        headline += " at most (it stops early once accuracy on held-out examples stops improving)"
    report = TrainingProgress(total_steps=total_steps, epochs=config.epochs, headline=headline, enabled=progress)
    ended = ""
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = list(range(len(data)))
        rng.shuffle(order)
        running = 0.0
        for step in range(steps_per_epoch):
            batch = order[step * config.batch_size : (step + 1) * config.batch_size]
            encoded = tokenizer(
                [data.texts[i] for i in batch],
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
            report.step(epoch, loss=f"{running:.3f}", val_acc=f"{best_accuracy:.3f}" if history else "-")
        model.eval()  # type: ignore[no-untyped-call]
        if validation is None or not len(validation):
            history.append({"epoch": epoch, "loss": running})
            continue
        predicted = classifier.logits(validation.texts).argmax(axis=1)
        accuracy = float(np.mean([labels[i] == gold for i, gold in zip(predicted, validation.labels, strict=True)]))
        history.append({"epoch": epoch, "loss": running, "val_accuracy": accuracy})
        if accuracy > best_accuracy:
            best_accuracy, best_epoch, stale = accuracy, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
            if stale >= config.early_stopping_patience:
                logger.info("early stop after epoch %d (best %d: %.4f)", epoch, best_epoch, best_accuracy)
                ended = f"stopped after epoch {epoch}: accuracy on held-out examples stopped improving"
                break
    report.close(ended)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()  # type: ignore[no-untyped-call]
    classifier.metadata = {
        "training": config.to_dict(),
        "train_examples": len(data),
        "train_seconds": round(time.perf_counter() - started, 1),
        "best_epoch": best_epoch or len(history),
        "history": history,
        **(metadata or {}),
    }
    return classifier
