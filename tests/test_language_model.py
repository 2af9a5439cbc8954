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
