"""A tiny character-level language model: its text, the transformer, training, perplexity.

The text is the Python documentation's topic help (``pydoc_data.topics``, the pages
that ``help("if")`` shows), which ships with every CPython installation under the
Python Software Foundation License: no download. A decoder-only transformer of a
few layers trained on it for a few hundred steps on a CPU is small enough to train
inside a page and large enough that pruning its linear layers visibly costs
perplexity.

Introduced in :doc:`language-models`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ._checks import check_finite, check_fraction, check_nonnegative, check_positive_int
from .train import evaluation_mode

__all__ = ["CharCorpus", "load_corpus", "TinyTransformer", "train_lm", "perplexity",
           "window_losses", "strided_losses", "sample_windows", "calibration_inputs"]

#: Characters outside printable ASCII (and newline) are mapped to this one.
UNKNOWN = "\x00"


@dataclass(frozen=True)
class CharCorpus:
    """Character ids of a text split into training, validation and test parts.

    Attributes
    ----------
    train, val, test : torch.Tensor
        1-D ``torch.long`` tensors of character ids.
    vocab : str
        The characters; ``vocab[i]`` is the character with id ``i``.
    source : str
        Where the text comes from (for the page's credits).
    """

    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor
    vocab: str
    source: str

    @property
    def vocab_size(self) -> int:
        """Number of distinct character ids."""
        return len(self.vocab)

    def encode(self, text: str) -> torch.Tensor:
        """Character ids of ``text`` (unknown characters map to :data:`UNKNOWN`)."""
        index = {c: i for i, c in enumerate(self.vocab)}
        unknown = index[UNKNOWN]
        return torch.tensor([index.get(c, unknown) for c in text], dtype=torch.long)

    def decode(self, ids) -> str:
        """The text of a sequence of ids."""
        return "".join(self.vocab[int(i)] for i in ids)


def load_corpus(val_size: float = 0.1, test_size: float = 0.1) -> CharCorpus:
    """The Python documentation's topic help as a character corpus.

    Introduced in :doc:`language-models`, section *A tiny language model*. The topics
    of ``pydoc_data.topics.topics`` (about 470,000 characters of English prose and
    code examples from the Python documentation, PSF License) are joined in
    alphabetical order of their names; whole topics go to the splits (the first ones
    to training, then validation, then test), so no topic is split between two parts.
    Characters other than printable ASCII and newline become :data:`UNKNOWN`.

    Parameters
    ----------
    val_size, test_size : float
        Approximate fractions of the characters in the validation and test parts.

    Raises
    ------
    ValueError
        If a fraction lies outside [0, 1) or the two leave no training text.
    """
    val_size = check_fraction(val_size, "val_size", inclusive_high=False)
    test_size = check_fraction(test_size, "test_size", inclusive_high=False)
    if val_size + test_size >= 0.9:
        raise ValueError(f"val_size + test_size = {val_size + test_size} leaves too little "
                         f"training text; use fractions that sum to less than 0.9")
    from pydoc_data.topics import topics

    vocab = UNKNOWN + "\n" + "".join(chr(c) for c in range(32, 127))
    index = {c: i for i, c in enumerate(vocab)}
    texts = [topics[name] for name in sorted(topics)]
    total = sum(len(t) for t in texts)
    parts: list[list[str]] = [[], [], []]
    seen = 0
    for text in texts:
        where = seen / total
        parts[0 if where < 1 - val_size - test_size else 1 if where < 1 - test_size
              else 2].append(text)
        seen += len(text)

    def ids(chunks: list[str]) -> torch.Tensor:
        return torch.tensor([index.get(c, 0) for c in "\n".join(chunks)], dtype=torch.long)

    return CharCorpus(*(ids(p) for p in parts), vocab=vocab,
                      source="pydoc_data.topics (Python documentation, PSF License)")


class _Block(nn.Module):
    """Pre-norm transformer block: causal self-attention and an MLP, both residual.

    The heads' width is fixed (``d_model // n_heads``); their number is read from the
    query-key-value layer, so a block keeps working when heads are removed
    (:func:`helpers.heads.remove_heads`)."""

    def __init__(self, d_model: int, n_heads: int, d_mlp: int):
        super().__init__()
        self.head_dim = d_model // n_heads
        self.ln1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.ln2 = nn.LayerNorm(d_model)
        self.fc1 = nn.Linear(d_model, d_mlp)
        self.fc2 = nn.Linear(d_mlp, d_model)

    @property
    def n_heads(self) -> int:
        """Number of attention heads: the width of the queries over a head's width."""
        return self.qkv.out_features // (3 * self.head_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        inner = self.n_heads * self.head_dim  # d_model, unless heads were removed
        q, k, v = self.qkv(self.ln1(x)).split(inner, dim=2)
        q, k, v = (z.view(b, t, self.n_heads, self.head_dim).transpose(1, 2)
                   for z in (q, k, v))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(a.transpose(1, 2).reshape(b, t, inner))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class TinyTransformer(nn.Module):
    """A decoder-only (GPT-style) transformer over characters.

    Introduced in :doc:`language-models`, section *A tiny language model*. Token and
    learned position embeddings, ``n_layers`` pre-norm blocks (causal multi-head
    self-attention, then a GELU MLP), a final LayerNorm and a linear read-out to the
    vocabulary. The linear layers inside the blocks, ``blocks.{i}.qkv``, ``.proj``,
    ``.fc1`` and ``.fc2``, are the ones that Wanda and SparseGPT prune.

    Input ``(batch, time)`` of ids with ``time ≤ context``; output ``(batch, time,
    vocab_size)`` logits for the next token at each position.

    Parameters
    ----------
    vocab_size : int
        Number of distinct tokens.
    context : int
        Longest input sequence (number of positions).
    d_model : int
        Width of the residual stream; a multiple of ``n_heads``.
    n_layers, n_heads : int
        Number of blocks and of attention heads per block.
    d_mlp : int, optional
        Hidden width of the MLPs (default ``4 · d_model``).
    """

    def __init__(self, vocab_size: int, *, context: int = 64, d_model: int = 64,
                 n_layers: int = 2, n_heads: int = 4, d_mlp: int | None = None):
        super().__init__()
        for value, name in ((vocab_size, "vocab_size"), (context, "context"),
                            (d_model, "d_model"), (n_layers, "n_layers"),
                            (n_heads, "n_heads")):
            check_positive_int(value, name)
        d_mlp = 4 * d_model if d_mlp is None else check_positive_int(d_mlp, "d_mlp")
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be a multiple of n_heads ({n_heads})")
        self.context = context
        self.embed = nn.Embedding(vocab_size, d_model)
        self.position = nn.Embedding(context, d_model)
        self.blocks = nn.ModuleList(_Block(d_model, n_heads, d_mlp) for _ in range(n_layers))
        self.ln = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.dim() != 2:
            raise ValueError(f"ids must have shape (batch, time), got {tuple(ids.shape)}")
        if ids.shape[1] > self.context:
            raise ValueError(f"sequence of {ids.shape[1]} tokens is longer than the "
                             f"model's context of {self.context}")
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.embed(ids) + self.position(positions)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


def _check_tokens(tokens, context: int, name: str = "tokens") -> torch.Tensor:
    if not isinstance(tokens, torch.Tensor) or tokens.dim() != 1 or tokens.dtype != torch.long:
        raise TypeError(f"{name} must be a 1-D torch.long tensor of token ids")
    if len(tokens) < context + 1:
        raise ValueError(f"{name} holds {len(tokens)} tokens, fewer than context + 1 = "
                         f"{context + 1}")
    return tokens


def sample_windows(tokens: torch.Tensor, n: int, length: int, *,
                   generator: torch.Generator) -> torch.Tensor:
    """``n`` windows of ``length + 1`` consecutive tokens at random offsets.

    Introduced in :doc:`language-models`, section *A tiny language model*. Returns
    shape ``(n, length + 1)``: inputs ``[:, :-1]`` and next-token targets ``[:, 1:]``.
    """
    check_positive_int(n, "n")
    check_positive_int(length, "length")
    tokens = _check_tokens(tokens, length)
    starts = torch.randint(0, len(tokens) - length, (n,), generator=generator)
    return torch.stack([tokens[s:s + length + 1] for s in starts.tolist()])


def train_lm(model: TinyTransformer, tokens: torch.Tensor, *, steps: int = 300,
             batch_size: int = 32, lr: float = 3e-3, weight_decay: float = 0.01,
             seed: int = 0) -> list[float]:
    """Train ``model`` in place on next-character prediction; return the loss per step.

    Introduced in :doc:`language-models`, section *A tiny language model*. AdamW
    with a linear warm-up over the first 10% of the steps and a cosine decay to zero;
    each step draws ``batch_size`` random windows of ``model.context`` characters
    from ``tokens`` (the training part; the draw depends only on ``seed``) and
    minimises the mean cross-entropy over all positions. Afterwards each module of
    ``model`` is back in the train/eval mode it had before.
    """
    if not isinstance(model, TinyTransformer):
        raise TypeError(f"model must be a TinyTransformer, got {type(model).__name__}")
    check_positive_int(steps, "steps")
    check_positive_int(batch_size, "batch_size")
    check_nonnegative(lr, "lr")
    check_nonnegative(weight_decay, "weight_decay")
    check_positive_int(seed, "seed", allow_zero=True)
    tokens = _check_tokens(tokens, model.context)
    generator = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: min(1.0, (t + 1) / warmup)
        * 0.5 * (1 + math.cos(math.pi * min(1.0, t / steps))))
    device = next(model.parameters()).device
    losses = []
    with evaluation_mode(model):  # restores the caller's modes afterwards
        model.train()
        for _ in range(steps):
            batch = sample_windows(tokens, batch_size, model.context, generator=generator)
            batch = batch.to(device)
            logits = model(batch[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                   batch[:, 1:].reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
            losses.append(loss.item())
    return losses


def _check_length(model, length) -> int:
    if not isinstance(model, TinyTransformer):
        raise TypeError(f"model must be a TinyTransformer, got {type(model).__name__}")
    if length is None:
        return model.context
    length = check_positive_int(length, "length")
    if length > model.context:
        raise ValueError(f"length {length} is longer than the model's context of "
                         f"{model.context}: the model has no position beyond it")
    return length


@torch.no_grad()
def _position_losses(model: TinyTransformer, x: torch.Tensor, y: torch.Tensor,
                     batch_size: int) -> torch.Tensor:
    """Negative log-likelihood of each target of the windows ``x`` → ``y``: (n, length)."""
    device = next(model.parameters()).device
    losses = []
    with evaluation_mode(model):
        for start in range(0, len(x), batch_size):
            logits = model(x[start:start + batch_size].to(device))
            losses.append(F.cross_entropy(logits.transpose(1, 2),
                                          y[start:start + batch_size].to(device),
                                          reduction="none").double().cpu())
    losses = torch.cat(losses)
    check_finite(losses, "losses")
    return losses


def window_losses(model: TinyTransformer, tokens: torch.Tensor, *,
                  batch_size: int = 64, length: int | None = None) -> torch.Tensor:
    """The mean negative log-likelihood per character of each window of ``tokens``.

    Introduced in :doc:`language-models`, section *Pruning the language model*. The
    text is cut into consecutive, non-overlapping windows of ``length`` characters
    (default ``model.context``; the remainder is dropped); every position of a window
    is predicted from the characters before it within the window. Shape
    ``(n_windows,)``, in nats, on the CPU; :func:`perplexity` is ``exp`` of their mean.
    Two models scored on the same windows can be compared window by window (the test
    text's own sampling error). The model's mode is restored. ValueError for a
    ``length`` beyond the model's context.
    """
    length = _check_length(model, length)
    tokens = _check_tokens(tokens, length)
    check_positive_int(batch_size, "batch_size")
    n = (len(tokens) - 1) // length
    x = tokens[:n * length].view(n, length)
    y = tokens[1:n * length + 1].view(n, length)
    return _position_losses(model, x, y, batch_size).mean(dim=1)


def strided_losses(model: TinyTransformer, tokens: torch.Tensor, *, stride: int,
                   length: int | None = None, batch_size: int = 64) -> torch.Tensor:
    """The negative log-likelihood of every character, each scored once with a sliding window.

    Introduced in :doc:`language-models`, section *Evaluating a language model*. The
    evaluation of Hugging Face's ``transformers`` guide "Perplexity of fixed-length
    models": windows of ``length`` characters (default ``model.context``) start every
    ``stride`` characters; the first window scores all its ``length`` predictions,
    every later one only its last ``stride``, so each character is scored once, after
    at least ``length − stride`` characters of context (the first window's, after
    fewer). ``stride = length`` is the non-overlapping evaluation of
    :func:`window_losses`; ``stride = 1`` gives every character the full window. The
    windows that would run past the end are dropped.

    Parameters
    ----------
    model : TinyTransformer
    tokens : torch.Tensor
        1-D ids, at least ``length + 1`` of them.
    stride : int
        Characters between two windows, in ``1 … length``.
    length : int, optional
        The window, at most the model's context.
    batch_size : int
        Windows per forward pass.

    Returns
    -------
    torch.Tensor
        Shape ``(length + (n_windows − 1) · stride,)``, float64 nats, on the CPU, in
        the order of the text (targets ``tokens[1], tokens[2], …``).

    Raises
    ------
    TypeError, ValueError
        For a model that is not a :class:`TinyTransformer`, tokens that are not a long
        1-D tensor or too short, a ``length`` beyond the context or a ``stride``
        outside ``1 … length``.
    """
    length = _check_length(model, length)
    stride = check_positive_int(stride, "stride")
    if stride > length:
        raise ValueError(f"stride {stride} is longer than the window ({length}): "
                         f"characters between two windows would never be scored")
    tokens = _check_tokens(tokens, length)
    check_positive_int(batch_size, "batch_size")
    n = (len(tokens) - 1 - length) // stride + 1
    rows = (torch.arange(n) * stride)[:, None] + torch.arange(length + 1)
    windows = tokens[rows]
    losses = _position_losses(model, windows[:, :-1], windows[:, 1:], batch_size)
    return torch.cat([losses[0], losses[1:, length - stride:].reshape(-1)])


def perplexity(model: TinyTransformer, tokens: torch.Tensor, *,
               batch_size: int = 64, length: int | None = None,
               stride: int | None = None) -> float:
    """Perplexity ``exp(mean negative log-likelihood per character)`` on ``tokens``.

    Introduced in :doc:`language-models`, section *A tiny language model*. By default
    the text is cut into consecutive, non-overlapping windows of ``length`` characters
    (default ``model.context``; the remainder is dropped), every position of a window
    predicted from the characters before it within the window (:func:`window_losses`);
    with ``stride``, windows slide by that many characters and each character is
    scored once (:func:`strided_losses`, section *Evaluating a language model*). Lower
    is better; a model that guesses uniformly among ``V`` characters has perplexity
    ``V``. The model's mode is restored.
    """
    if stride is None:
        losses = window_losses(model, tokens, batch_size=batch_size, length=length)
    else:
        losses = strided_losses(model, tokens, stride=stride, length=length,
                                batch_size=batch_size)
    value = math.exp(float(losses.mean()))
    check_finite(torch.tensor(value), "perplexity")
    return value


def calibration_inputs(tokens: torch.Tensor, n_samples: int, context: int, *,
                       seed: int) -> torch.Tensor:
    """``n_samples`` random windows of ``context`` ids: the calibration data of a pruner.

    Introduced in :doc:`language-models`, section *Calibration data*. Wanda and
    SparseGPT read the activations of these inputs; take them from the training text,
    never from the text on which perplexity is reported. Shape ``(n_samples,
    context)``; the choice depends only on ``seed``.
    """
    check_positive_int(seed, "seed", allow_zero=True)
    generator = torch.Generator().manual_seed(seed)
    return sample_windows(tokens, n_samples, context, generator=generator)[:, :-1]
