"""Attention heads as dependency groups (helpers.heads): removal ≡ zeroing, importance."""

from __future__ import annotations

import copy

import hypothesis.strategies as st
import pytest
import torch
from hypothesis import given, settings

from helpers import dependency, heads
from helpers import language_model as lm


def _model(seed=0, n_layers=2, n_heads=4, d_model=16):
    torch.manual_seed(seed)
    return lm.TinyTransformer(20, context=8, d_model=d_model, n_layers=n_layers,
                              n_heads=n_heads).eval()


def _windows(seed=0, n=6):
    return torch.randint(0, 20, (n, 9), generator=torch.Generator().manual_seed(seed))


@settings(max_examples=25, deadline=None)
@given(first=st.sets(st.integers(0, 3), max_size=3), second=st.sets(st.integers(0, 3),
                                                                    max_size=3),
       seed=st.integers(0, 10))
def test_removing_heads_computes_what_zeroing_them_computes(first, second, seed):
    model = _model(seed)
    chosen = {0: sorted(first), 1: sorted(second)}
    x = _windows(seed)[:, :-1]
    before = copy.deepcopy(model.state_dict())
    small = heads.remove_heads(model, chosen)
    zeroed = heads.zero_heads(copy.deepcopy(model), chosen)
    with torch.no_grad():
        torch.testing.assert_close(small(x), zeroed(x), rtol=0, atol=1e-5)
    assert heads.count_heads(small) == [4 - len(first), 4 - len(second)]
    # each head: 3 rows of queries/keys/values (with biases), and head_dim columns of proj
    d, width = 16, 4
    removed = len(first) + len(second)
    per_head = 3 * width * d + 3 * width + d * width
    assert (sum(p.numel() for p in model.parameters())
            - sum(p.numel() for p in small.parameters())) == removed * per_head
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_a_head_group_owns_its_query_key_value_rows_and_projection_columns():
    group = heads.head_groups(_model())[1]
    assert group.producers == ("blocks.1.qkv",) and group.consumers == ("blocks.1.proj",)
    rows = group.owner("blocks.1.qkv", "out")
    # queries, keys, values: three stretches of 16 rows, 4 per head
    assert rows.tolist() == [r // 4 for r in range(16)] * 3
    assert group.owner("blocks.1.proj", "in").tolist() == [c // 4 for c in range(16)]
    # the dependency module's own tools work on it: the weight norm of each head
    norms = dependency.group_importance(_model(), group)
    w = _model().blocks[1].qkv.weight
    expected = torch.stack([w[rows == h].norm() for h in range(4)])
    torch.testing.assert_close(norms, expected.detach())


def test_head_groups_follow_a_model_after_removal():
    small = heads.remove_heads(_model(), {0: [0, 2]})
    smaller = heads.remove_heads(small, {0: [1]})  # head 1 of the two left (old head 3)
    zeroed = heads.zero_heads(_model(), {0: [0, 2, 3]})
    x = _windows(1)[:, :-1]
    with torch.no_grad():
        torch.testing.assert_close(smaller(x), zeroed(x), rtol=0, atol=1e-5)


def _gate_derivatives(model, windows):
    """∂L/∂ξ for a gate ξ on every head's output, by autograd through explicit gates."""
    x, y = windows[:, :-1], windows[:, 1:]
    out = []
    gates = [torch.ones(len(x), 1, b.n_heads, 1, requires_grad=True) for b in model.blocks]

    def gated(i):
        def hook(module, args):
            a = args[0]
            shape = a.shape
            return (a.reshape(*shape[:2], model.blocks[i].n_heads, -1) * gates[i]
                    ).reshape(shape),
        return hook
    hooks = [b.proj.register_forward_pre_hook(gated(i)) for i, b in enumerate(model.blocks)]
    try:
        logits = model(x)
        losses = torch.nn.functional.cross_entropy(logits.transpose(1, 2), y,
                                                   reduction="none").mean(dim=1)
        grads = torch.autograd.grad(losses.sum(), gates)
    finally:
        for h in hooks:
            h.remove()
    for g in grads:
        out.append(g.reshape(len(x), -1).abs().mean(dim=0))
    return torch.stack(out)


def test_head_importance_is_the_mean_absolute_derivative_of_a_head_gate():
    model, windows = _model(3), _windows(3)
    torch.testing.assert_close(heads.head_importance(model, windows),
                               _gate_derivatives(model, windows), rtol=1e-4, atol=1e-7)


def test_head_importance_leaves_the_model_as_it_was():
    model = _model(4).train()
    for p in model.parameters():
        p.grad = torch.full_like(p, 7.0)
    state = copy.deepcopy(model.state_dict())
    heads.head_importance(model, _windows(4))
    assert model.training
    assert all(torch.equal(p.grad, torch.full_like(p, 7.0)) for p in model.parameters())
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


def test_head_importance_pads_blocks_that_lost_heads():
    small = heads.remove_heads(_model(), {1: [0, 1]})
    scores = heads.head_importance(small, _windows())
    assert scores.shape == (2, 4)
    assert torch.isnan(scores[1, 2:]).all() and not torch.isnan(scores[1, :2]).any()


@pytest.mark.parametrize("chosen, match", [
    ({2: [0]}, "not one of the model's blocks"),
    ({0: [4]}, r"\[4\] out of range for block 0 with 4 heads"),
    ({0: [1, 1]}, "duplicates"),
    ({0: [0, 1, 2, 3]}, "cannot remove all 4 heads of block 0"),
])
def test_impossible_head_choices_are_refused(chosen, match):
    with pytest.raises(ValueError, match=match):
        heads.remove_heads(_model(), chosen)
    with pytest.raises(ValueError, match=match):
        heads.zero_heads(_model(), chosen)


def test_wrong_models_and_inputs_are_refused():
    with pytest.raises(TypeError, match="TinyTransformer"):
        heads.head_groups(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="block indices"):
        heads.remove_heads(_model(), [0, 1])
    with pytest.raises(TypeError, match="torch.long"):
        heads.head_importance(_model(), torch.zeros(3, 5))
    with pytest.raises(ValueError, match="context"):
        heads.head_importance(_model(), torch.zeros(3, 12, dtype=torch.long))
