"""Run the transformer of a sentence-transformers text model as a TorchScript trace (CPU).

Why: the eager model returns to Python after every operation and must take the GIL back each time. In a
server the event loop holds the GIL much of the time, so under concurrent load every layer of every batch
waits for it: a 16-query batch that takes ~30 ms alone took 820 ms next to a busy Python thread, and
56 ms traced (measured, MiniLM, 1 thread). A trace runs the whole forward in C++ with the GIL released.

The trace is checked against the eager model on inputs of other shapes before it is used; any
difference or failure keeps the eager model (logged), so this can only change speed, never vectors.
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any

import torch

logger = logging.getLogger(__name__)

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_CHECK_TEXTS = (
    ["a short query"],
    ["an anime about space bounty hunters", "ok", "a much longer description of a story " * 6],
)


def trace_transformer(model: Any) -> bool:
    """Swap the Hugging Face model inside `model[0]` (a sentence-transformers Transformer module) for a
    checked trace; True when the trace is in use."""
    module = model[0]
    eager = getattr(module, "model", None)
    if not isinstance(eager, torch.nn.Module) or not hasattr(model, "tokenizer"):
        logger.info("text model not traced: not a sentence-transformers Transformer")
        return False
    started = time.perf_counter()
    try:
        example = _features(model, ["an example query", "another, somewhat longer example text to trace"])
        names = [n for n in _INPUTS if n in example]
        positional = _Positional(eager, names).eval()
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TracerWarnings about Python branches: the check below decides
            traced = torch.jit.trace(positional, tuple(example[n] for n in names), check_trace=False)
            for texts in _CHECK_TEXTS:
                features = _features(model, texts)
                args = tuple(features[n] for n in names)
                want, got = positional(*args), traced(*args)
                if want.shape != got.shape or not torch.allclose(want, got, atol=1e-4, rtol=1e-4):
                    logger.warning("text model not traced: the trace differs from the model on other input shapes")
                    return False
    except Exception as exc:  # an architecture the tracer cannot follow: eager still works
        logger.warning("text model not traced (%s: %s); running it eagerly", type(exc).__name__, exc)
        return False
    module.model = _TracedModel(traced, names, eager)
    logger.info("text model traced in %.1fs", time.perf_counter() - started)
    return True


def _features(model: Any, texts: list[str]) -> dict[str, Any]:
    return dict(model.tokenizer(texts, padding=True, truncation=True, return_tensors="pt"))


class _Positional(torch.nn.Module):
    """The model's forward with positional tensor inputs and one tensor out, as tracing needs."""

    def __init__(self, eager: Any, names: list[str]) -> None:
        super().__init__()
        self.eager = eager
        self.names = names

    def forward(self, *tensors):
        return self.eager(**dict(zip(self.names, tensors)), return_dict=False)[0]


class _TracedModel(torch.nn.Module):
    """Stands in for the Hugging Face model where sentence-transformers calls it: takes its keyword
    inputs, returns `last_hidden_state`. The eager model stays a submodule, so parameters, device and
    config are where callers look for them."""

    def __init__(self, traced: Any, names: list[str], eager: Any) -> None:
        super().__init__()
        self.traced = traced
        self.names = names
        self.eager = eager
        self.config = getattr(eager, "config", None)

    def forward(self, **features: Any):
        from transformers.modeling_outputs import BaseModelOutput

        if not all(n in features for n in self.names):  # inputs the trace was not made for
            return self.eager(**features)
        return BaseModelOutput(last_hidden_state=self.traced(*(features[n] for n in self.names)))
