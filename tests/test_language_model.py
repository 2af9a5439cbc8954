"""helpers.language_model: the corpus, the tiny transformer, training and perplexity."""

from __future__ import annotations

import math

import pytest
import torch

from helpers import language_model as lm


@pytest.fixture(scope="module")
def corpus():
    return lm.load_corpus()


def test_corpus_splits_and_round_trip(corpus):
    sizes = [len(corpus.train), len(corpus.val), len(corpus.test)]
    assert sum(sizes) > 400_000
    assert 0.07 < sizes[2] / sum(sizes) < 0.13
    text = "def f(x):\n    return x"
    assert corpus.decode(corpus.encode(text)) == text
    assert corpus.decode(corpus.encode("é")) == lm.UNKNOWN
    assert "PSF" in corpus.source


def test_model_is_causal():
    torch.manual_seed(0)
    model = lm.TinyTransformer(10, context=8, d_model=16, n_heads=2).eval()
    a = torch.randint(0, 10, (1, 8))
    b = a.clone()
    b[0, 5:] = (b[0, 5:] + 1) % 10
    with torch.no_grad():
        assert torch.allclose(model(a)[0, :5], model(b)[0, :5], atol=1e-6)
        assert model(a).shape == (1, 8, 10)


def test_untrained_model_is_near_uniform_and_training_helps(corpus):
    torch.manual_seed(0)
    model = lm.TinyTransformer(corpus.vocab_size, context=16, d_model=16, n_heads=2)
    with torch.no_grad():
        for p in model.head.parameters():
            p.zero_()
    assert math.isclose(lm.perplexity(model, corpus.val[:2000]), corpus.vocab_size,
                        rel_tol=1e-4)
    losses = lm.train_lm(model, corpus.train, steps=60, batch_size=16, lr=1e-2)
    assert losses[-1] < losses[0] - 1
    assert lm.perplexity(model, corpus.val[:2000]) < 0.5 * corpus.vocab_size


def test_perplexity_matches_the_cross_entropy_by_hand():
    torch.manual_seed(1)
    model = lm.TinyTransformer(7, context=4, d_model=8, n_heads=2).eval()
    tokens = torch.randint(0, 7, (13,))
    x, y = tokens[:12].view(3, 4), tokens[1:13].view(3, 4)
    with torch.no_grad():
        nll = torch.nn.functional.cross_entropy(model(x).reshape(-1, 7), y.reshape(-1))
    assert math.isclose(lm.perplexity(model, tokens, batch_size=2), math.exp(nll.item()),
                        rel_tol=1e-5)


def test_calibration_depends_only_on_the_seed(corpus):
    a = lm.calibration_inputs(corpus.train, 4, 16, seed=3)
    assert a.shape == (4, 16)
    assert torch.equal(a, lm.calibration_inputs(corpus.train, 4, 16, seed=3))
    assert not torch.equal(a, lm.calibration_inputs(corpus.train, 4, 16, seed=4))


def test_bad_inputs(corpus):
    with pytest.raises(ValueError, match="multiple of n_heads"):
        lm.TinyTransformer(10, d_model=10, n_heads=4)
    model = lm.TinyTransformer(10, context=4, d_model=8, n_heads=2)
    with pytest.raises(ValueError, match="longer than the model's context"):
        model(torch.zeros(1, 5, dtype=torch.long))
    with pytest.raises(TypeError, match="torch.long"):
        lm.perplexity(model, torch.zeros(20))
    with pytest.raises(ValueError, match="fewer than context"):
        lm.perplexity(model, torch.zeros(3, dtype=torch.long))
    with pytest.raises(TypeError, match="TinyTransformer"):
        lm.train_lm(torch.nn.Linear(2, 2), corpus.train)
    with pytest.raises(ValueError, match="too little"):
        lm.load_corpus(0.5, 0.5)


def test_window_losses_are_the_perplexity_window_by_window():
    """One loss per window of ``context`` characters; perplexity is exp of their mean,
    and each window's loss is its own cross-entropy."""
    torch.manual_seed(0)
    model = lm.TinyTransformer(7, context=5, d_model=8, n_layers=1, n_heads=2)
    tokens = torch.randint(0, 7, (23,))
    losses = lm.window_losses(model, tokens, batch_size=2)
    assert losses.shape == (4,)                     # (23 − 1) // 5 windows
    assert math.isclose(lm.perplexity(model, tokens), math.exp(losses.mean()), rel_tol=1e-6)
    x, y = tokens[5:10], tokens[6:11]
    with torch.no_grad():
        by_hand = torch.nn.functional.cross_entropy(model.eval()(x[None])[0], y)
    assert math.isclose(float(losses[1]), float(by_hand), rel_tol=1e-5)
    with pytest.raises(TypeError, match="TinyTransformer"):
        lm.window_losses(torch.nn.Linear(2, 2), tokens)


def test_the_ablations_criteria_compare_in_their_group():
    """``row_magnitude`` prunes the same number of weights in every row (Wanda's group,
    with equal norms); ``layer_wanda`` prunes the lowest Wanda scores of the whole
    layer, whatever the rows; both plug into prune_layerwise."""
    from helpers import layerwise
    from helpers.experiments import language_models as ex

    torch.manual_seed(0)
    w = torch.randn(6, 8) * torch.logspace(0, 1, 6)[:, None]   # rows of different scales
    x = torch.randn(50, 8) * torch.logspace(0, 1, 8)             # inputs too
    rows = ex.row_magnitude(w, sparsity=0.5)
    assert ((rows == 0).sum(dim=1) == 4).all()
    layer = ex.layer_wanda(w, x, sparsity=0.5)
    assert int((layer == 0).sum()) == 24 and not ((layer == 0).sum(dim=1) == 4).all()
    scores = layerwise.wanda_scores(w, x.double().norm(dim=0))
    assert scores[layer == 0].max() <= scores[layer != 0].min()
    with pytest.raises(ValueError, match="unstructured"):
        ex.layer_wanda(w, x, n=2, m=4)
    model = lm.TinyTransformer(7, context=8, d_model=16, n_layers=1, n_heads=2)
    pruned = layerwise.prune_layerwise(model, ex.row_magnitude)      # reads no data
    assert (pruned.blocks[0].fc1.weight == 0).float().mean() == 0.5


# --- sliding-window (strided) evaluation --------------------------------------------------

def _tiny(context=8, vocab=12, seed=0):
    torch.manual_seed(seed)
    return lm.TinyTransformer(vocab, context=context, d_model=16, n_heads=2).eval()


def test_strided_with_stride_equal_to_the_window_is_the_non_overlapping_evaluation():
    model = _tiny()
    tokens = torch.randint(0, 12, (8 * 7 + 1,))
    strided = lm.strided_losses(model, tokens, stride=8)
    assert strided.shape == (56,)
    assert torch.allclose(strided.view(7, 8).mean(dim=1), lm.window_losses(model, tokens))
    assert lm.perplexity(model, tokens, stride=8) == pytest.approx(lm.perplexity(model, tokens))


@pytest.mark.parametrize("stride, length", [(1, 8), (3, 8), (5, 6), (2, 4)])
def test_every_character_is_scored_once_with_the_context_its_window_gives(stride, length):
    model = _tiny()
    generator = torch.Generator().manual_seed(stride)
    tokens = torch.randint(0, 12, (40,), generator=generator)
    losses = lm.strided_losses(model, tokens, stride=stride, length=length)
    n = (len(tokens) - 1 - length) // stride + 1
    assert len(losses) == length + (n - 1) * stride
    for i, loss in enumerate(losses.tolist()):  # the target tokens[i + 1]
        target = i + 1
        if i < length:  # the first window: targets 1 … length
            start = 0
        else:  # the window whose last `stride` targets hold it
            k = (target - length - 1) // stride + 1
            start = k * stride
        x = tokens[start:start + length].unsqueeze(0)
        with torch.no_grad():
            logits = model(x)[0, target - start - 1]
        assert loss == pytest.approx(float(torch.nn.functional.cross_entropy(
            logits.unsqueeze(0), tokens[target].unsqueeze(0))), rel=1e-5)


def test_a_shorter_window_scores_with_less_context():
    model = _tiny()
    tokens = torch.randint(0, 12, (65,))
    assert lm.window_losses(model, tokens, length=4).shape == (16,)
    assert lm.strided_losses(model, tokens, stride=2, length=4).shape == (64,)  # all


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(stride=9), ValueError, "longer than the window"),
    (dict(stride=0), ValueError, "stride"),
    (dict(stride=2, length=9), ValueError, "longer than the model's context"),
    (dict(stride=2.0), TypeError, "stride"),
])
def test_strided_losses_refuses(kwargs, error, match):
    with pytest.raises(error, match=match):
        lm.strided_losses(_tiny(), torch.randint(0, 12, (40,)), **kwargs)


def test_strided_losses_needs_the_tiny_transformer():
    with pytest.raises(TypeError, match="TinyTransformer"):
        lm.strided_losses(torch.nn.Linear(2, 2), torch.randint(0, 12, (40,)), stride=2)
