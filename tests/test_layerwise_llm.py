"""prune_layerwise on LLaMA-, OPT- and GPT-2-style models of transformers, built from
configs with random weights (nothing downloaded), and the script
``benchmarks.language_models`` end to end on such models saved to a folder.

Wanda's masks are checked against a transcription of the paper's rule (Sun et al.
2024, section 3; ``prune_wanda`` of locuslab/wanda) computed from the inputs each
layer receives in block-sequential calibration: block ``b`` on the model with blocks
``< b`` already pruned.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from helpers import layerwise as lw
from helpers.layers import LINEAR_LAYERS, linear_weight

FAMILIES = ("llama", "opt", "gpt2")
#: Where each family keeps its decoder blocks (an nn.ModuleList).
BLOCKS = {"llama": "model.layers", "opt": "model.decoder.layers", "gpt2": "transformer.h"}
VOCAB, CONTEXT = 96, 32


def _transformers():
    return pytest.importorskip("transformers")


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models on one thread: on a shared 2-core machine, torch's threads wait for
    each other longer than the products take (the script's test runs 6× faster)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_model(family: str, vocab: int = VOCAB, seed: int = 0) -> nn.Module:
    """A two-block causal LM of ``family`` with random weights, in evaluation mode."""
    t = _transformers()
    torch.manual_seed(seed)
    if family == "llama":
        config = t.LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64,
                               num_hidden_layers=2, num_attention_heads=4,
                               num_key_value_heads=2, max_position_embeddings=CONTEXT,
                               bos_token_id=0, eos_token_id=1, pad_token_id=None)
        model = t.LlamaForCausalLM(config)
    elif family == "opt":
        config = t.OPTConfig(vocab_size=vocab, hidden_size=32, ffn_dim=64,
                             num_hidden_layers=2, num_attention_heads=4,
                             max_position_embeddings=CONTEXT, word_embed_proj_dim=32,
                             bos_token_id=0, eos_token_id=1, pad_token_id=1)
        model = t.OPTForCausalLM(config)
    else:
        config = t.GPT2Config(vocab_size=vocab, n_embd=32, n_layer=2, n_head=4,
                              n_positions=CONTEXT, bos_token_id=0, eos_token_id=1)
        model = t.GPT2LMHeadModel(config)
    model.config.use_cache = False
    return model.eval()


def _calibration(seed: int = 1, segments: int = 8) -> torch.Tensor:
    return torch.randint(0, VOCAB, (segments, CONTEXT),
                         generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------- which layers, and how

def test_the_default_layers_are_the_blocks_linear_layers_and_not_the_read_out():
    expected = {
        "llama": ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                  "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"],
        "opt": ["self_attn.k_proj", "self_attn.v_proj", "self_attn.q_proj",
                "self_attn.out_proj", "fc1", "fc2"],
        "gpt2": ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"],
    }
    for family in FAMILIES:
        names = lw.linear_layers(tiny_model(family))
        assert names == [f"{BLOCKS[family]}.{b}.{layer}" for b in range(2)
                         for layer in expected[family]], family


def test_conv1d_is_read_as_a_linear_layer_with_the_transposed_weight():
    t = _transformers()
    conv = t.pytorch_utils.Conv1D(6, 4)  # nf=6 outputs, nx=4 inputs; weight (4, 6)
    assert tuple(conv.weight.shape) == (4, 6)
    w = linear_weight(conv)
    assert tuple(w.shape) == (6, 4) and w.data_ptr() == conv.weight.data_ptr()
    linear = nn.Linear(4, 6)
    with torch.no_grad():
        linear.weight.copy_(w)
        linear.bias.copy_(conv.bias)
    x = torch.randn(3, 5, 4)
    assert torch.allclose(conv(x), linear(x), atol=1e-6)


# --------------------------------------------------- prune_layerwise on each family

def _wanda_transcription(weight: torch.Tensor, inputs: torch.Tensor,
                         pattern: dict) -> torch.Tensor:
    """The paper's rule, written out: True where a weight is pruned.

    ``weight`` ``(out, in)``, ``inputs`` ``(tokens, in)``. Score ``|W_ij| · ‖X_j‖₂``;
    unstructured: in each output row, the ``int(in · sparsity)`` lowest scores;
    N:M: in each row, the ``m − n`` lowest of every ``m`` consecutive inputs.
    """
    score = weight.double().abs() * inputs.double().norm(dim=0)[None, :]
    pruned = torch.zeros_like(score, dtype=torch.bool)
    if "n" in pattern:
        n, m = pattern["n"], pattern["m"]
        for i in range(0, score.shape[1], m):
            lowest = torch.topk(score[:, i:i + m], m - n, dim=1, largest=False).indices
            pruned.scatter_(1, i + lowest, True)
    else:
        k = int(score.shape[1] * pattern["sparsity"])
        pruned.scatter_(1, torch.sort(score, dim=-1, stable=True).indices[:, :k], True)
    return pruned


def _block_inputs(model: nn.Module, names: list[str], calibration: torch.Tensor) -> dict:
    """The inputs of the layers ``names`` in one pass of ``model``, ``(tokens, in)``."""
    modules = dict(model.named_modules())
    store = {}

    def record(name, module, inputs, output):  # returns None: the output stays
        store[name] = inputs[0].reshape(-1, linear_weight(module).shape[1])

    handles = [modules[name].register_forward_hook(
        lambda *args, name=name: record(name, *args)) for name in names]
    with torch.no_grad():
        model(calibration)
    for handle in handles:
        handle.remove()
    return store


PATTERNS = [dict(sparsity=0.5), dict(n=2, m=4)]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("criterion", ["wanda", "sparsegpt"])
@pytest.mark.parametrize("pattern", PATTERNS, ids=["50%", "2:4"])
def test_prune_layerwise_on_a_transformers_model(family, criterion, pattern):
    model = tiny_model(family)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    calibration = _calibration()
    pruned = lw.prune_layerwise(model, criterion, calibration=calibration,
                                sequential="block", **pattern)
    names = lw.linear_layers(model)
    modules, new = dict(model.named_modules()), dict(pruned.named_modules())
    for name in names:
        w = linear_weight(new[name])
        assert w.shape == linear_weight(modules[name]).shape
        zeros = (w == 0)
        if "n" in pattern:  # exactly 2 of every 4 consecutive inputs of each output
            assert torch.all(zeros.reshape(w.shape[0], -1, 4).sum(-1) == 2), name
        else:               # exactly half of each layer (Wanda: of each row)
            assert zeros.float().mean() == 0.5, name
            if criterion == "wanda":
                assert torch.all(zeros.sum(1) == w.shape[1] // 2), name
    # the original is untouched; embeddings, read-out, norms and biases stay as they were
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    pruned_state = pruned.state_dict()
    layer_weights = {f"{name}.weight" for name in names}
    for k, v in before.items():
        if k not in layer_weights:
            assert torch.equal(pruned_state[k], v), k


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("pattern", PATTERNS, ids=["50%", "2:4"])
def test_wanda_masks_are_the_papers_rule_on_block_sequential_inputs(family, pattern):
    model = tiny_model(family)
    calibration = _calibration()
    pruned = lw.prune_layerwise(model, "wanda", calibration=calibration,
                                sequential="block", **pattern)
    names = lw.linear_layers(model)
    pruned_params = dict(pruned.named_parameters())
    for b in range(2):
        in_block = [n for n in names if n.startswith(f"{BLOCKS[family]}.{b}.")]
        # the model as block-sequential calibration sees it: earlier blocks pruned
        state = copy.deepcopy(model)
        earlier = tuple(f"{BLOCKS[family]}.{c}." for c in range(b))
        with torch.no_grad():
            for key, p in state.named_parameters():
                if earlier and key.startswith(earlier):
                    p.copy_(pruned_params[key])
        inputs = _block_inputs(state, in_block, calibration)
        modules, new = dict(model.named_modules()), dict(pruned.named_modules())
        for name in in_block:
            expected = _wanda_transcription(linear_weight(modules[name]), inputs[name],
                                            pattern)
            assert torch.equal(linear_weight(new[name]) == 0, expected), name
            # GPT-2: the mask lies in the Conv1D's own layout, (in, out)
            assert torch.equal(new[name].weight == 0, expected.T if family == "gpt2"
                               else expected), name


def test_pruned_conv1d_computes_what_the_masked_linear_equivalent_computes():
    model = tiny_model("gpt2")
    pruned = lw.prune_layerwise(model, "sparsegpt", calibration=_calibration(), n=2, m=4)
    conv = pruned.transformer.h[0].mlp.c_fc
    assert type(conv).__name__ == "Conv1D" and tuple(conv.weight.shape) == (32, 128)
    linear = nn.Linear(32, 128)
    with torch.no_grad():
        linear.weight.copy_(conv.weight.T)
        linear.bias.copy_(conv.bias)
    assert torch.all((linear.weight == 0).reshape(128, 8, 4).sum(-1) == 2)
    x = torch.randn(2, 5, 32)
    assert torch.allclose(conv(x), linear(x), atol=1e-5)


@pytest.mark.parametrize("family", ["opt", "gpt2"])
def test_a_tied_read_out_stays_dense_and_tied(family):
    """The papers prune only the blocks' linear layers: lm_head, tied to the token
    embedding in OPT and GPT-2, is left dense and still tied; asking for it is an
    error that says why."""
    model = tiny_model(family)
    embedding = model.get_input_embeddings().weight
    assert model.lm_head.weight is embedding
    before = embedding.detach().clone()
    pruned = lw.prune_layerwise(model, "wanda", calibration=_calibration())
    assert pruned.lm_head.weight is pruned.get_input_embeddings().weight
    assert torch.equal(pruned.lm_head.weight, before)
    with pytest.raises(ValueError, match="shares its weight with"):
        lw.prune_layerwise(model, "wanda", calibration=_calibration(), names=["lm_head"])


def test_true_sequential_runs_on_llama_and_differs_from_block():
    model = tiny_model("llama")
    calibration = _calibration()
    by_block = lw.prune_layerwise(model, "wanda", calibration=calibration,
                                  sequential="block")
    by_layer = lw.prune_layerwise(model, "wanda", calibration=calibration,
                                  sequential="layer")
    first = "model.layers.0.self_attn.q_proj.weight"
    later = "model.layers.0.mlp.down_proj.weight"
    assert torch.equal(by_block.state_dict()[first], by_layer.state_dict()[first])
    assert not torch.equal(by_block.state_dict()[later], by_layer.state_dict()[later])


# ------------------------------------------------------------ errors that say why

class _Transposed(nn.Module):
    """A linear layer that stores its weight as (in, out) and is not in LINEAR_LAYERS."""

    def __init__(self, inp, out):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(inp, out))

    def forward(self, x):
        return x @ self.weight


def test_a_matrix_layer_outside_the_table_is_named_with_the_fix():
    model = nn.Sequential(_Transposed(4, 8), nn.ReLU(), _Transposed(8, 2))
    with pytest.raises(ValueError, match=r"add its class to helpers.layers.LINEAR_LAYERS"):
        lw.linear_layers(model)
    with pytest.raises(ValueError, match=r"not an nn.Linear layer nor another layer of "
                                         r"helpers.layers.LINEAR_LAYERS"):
        lw.prune_layerwise(model, "magnitude", names=["0"])
    LINEAR_LAYERS[_Transposed] = "in, out"  # the fix the message names
    try:
        pruned = lw.prune_layerwise(model, "wanda", calibration=torch.randn(16, 4))
        assert (pruned[0].weight == 0).float().mean() == 0.5
        assert torch.all((pruned[0].weight == 0).sum(0) == 2)  # per output column
    finally:
        del LINEAR_LAYERS[_Transposed]


def test_one_tied_linear_layer_is_not_offered_as_names():
    """With a single linear layer tied to an embedding, the message does not send the
    caller to names=[it], which would only fail on the tie."""
    embedding = nn.Embedding(10, 4)
    head = nn.Linear(4, 10, bias=False)
    head.weight = embedding.weight
    model = nn.Sequential(embedding, head)
    with pytest.raises(ValueError, match="shares its weight with") as info:
        lw.linear_layers(model)
    assert "names=" not in str(info.value)
    single = nn.Sequential(nn.Linear(4, 4))
    with pytest.raises(ValueError, match=r"pass names=\['0'\]"):
        lw.linear_layers(single)


def test_linear_weight_bad_inputs(monkeypatch):
    with pytest.raises(TypeError, match="layer must be a torch.nn.Module"):
        linear_weight(torch.ones(2, 2))
    monkeypatch.setitem(LINEAR_LAYERS, _Transposed, "in-out")
    with pytest.raises(ValueError, match=r"a layout is one of \('out, in', 'in, out'\)"):
        linear_weight(_Transposed(2, 3))
    bad = _Transposed(2, 3)
    bad.weight = nn.Parameter(torch.ones(3))
    monkeypatch.setitem(LINEAR_LAYERS, _Transposed, "in, out")
    with pytest.raises(ValueError, match="its weight is not a matrix"):
        linear_weight(bad)


# ------------------------------------------------------------------------ the script

def _save_tiny(tmp: Path, family: str, text: str) -> Path:
    """A tiny model of ``family`` and a byte-level BPE tokenizer trained on ``text``,
    saved with save_pretrained into ``tmp / family``."""
    t = _transformers()
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator([text], trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<s>", "</s>"], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = t.PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>",
                                          eos_token="</s>")
    folder = tmp / family
    tiny_model(family, vocab=len(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def text_file(tmp_path_factory) -> Path:
    """A short English text that ships with Python: the argparse module's source."""
    import argparse

    path = tmp_path_factory.mktemp("text") / "text.txt"
    path.write_text(Path(argparse.__file__).read_text(encoding="utf-8")[:6000],
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("family", FAMILIES)
def test_the_script_runs_end_to_end(family, text_file, tmp_path, capsys):
    from benchmarks import language_models as script

    folder = _save_tiny(tmp_path, family, text_file.read_text(encoding="utf-8"))
    out = tmp_path / "ppl.json"
    assert script.main(["--model", str(folder), "--text", str(text_file),
                        "--segments", "8", "--device", "cpu", "--out", str(out),
                        "--no-progress"]) == 0
    printed = capsys.readouterr().out
    results = json.loads(out.read_text())
    assert results["meta"]["seqlen"] == CONTEXT and results["meta"]["sequential"] == "block"
    rows = [(r["method"], r["sparsity"]) for r in results["rows"]]
    assert rows == [("dense", "-")] + [(m, s) for s in ("0.5", "2:4")
                                       for m in ("magnitude", "wanda", "sparsegpt")]
    for row in results["rows"]:
        assert row["perplexity"] > 1 and f"{row['perplexity']:.2f}" in printed
        assert row["zeros"] == (0.0 if row["method"] == "dense" else 0.5)
    assert "| Method | Weight update | Sparsity | Perplexity |" in printed


def test_the_script_protocol(text_file):
    from benchmarks import language_models as script

    ids = torch.arange(100)
    windows = script.evaluation_segments(ids, 30)  # 3 windows, 10 tokens dropped
    assert windows.shape == (3, 30) and torch.equal(windows[1], torch.arange(30, 60))
    segments = script.calibration_segments(ids, 5, 30, seed=0)
    again = script.calibration_segments(ids, 5, 30, seed=0)
    assert segments.shape == (5, 30) and torch.equal(segments, again)
    assert all(torch.equal(s, torch.arange(int(s[0]), int(s[0]) + 30)) for s in segments)
    assert script.parse_sparsity("2:4") == (0.5, 2, 4)
    assert script.parse_sparsity("0.6") == (0.6, None, None)


@pytest.mark.parametrize("argv, message", [
    (["--text", "{text}"], "the following arguments are required: --model"),
    (["--model", "{tmp}"], "give --text FILE, or both --calibration FILE"),
    (["--model", "{tmp}", "--text", "{tmp}/missing.txt"], "no such text file"),
    (["--model", "{tmp}", "--text", "{text}", "--sparsity", "3:2"], "0 <= n <= m"),
    (["--model", "{tmp}", "--text", "{text}", "--sparsity", "1.5"], r"in \[0, 1\]"),
    (["--model", "{tmp}", "--text", "{text}", "--segments", "0"], "--segments must be >= 1"),
])
def test_the_script_rejects_bad_arguments(argv, message, text_file, tmp_path, capsys):
    from benchmarks import language_models as script

    argv = [a.format(text=text_file, tmp=tmp_path) for a in argv]
    with pytest.raises(SystemExit):
        script.main(argv)
    assert re.search(message, capsys.readouterr().err)


def test_the_script_says_when_the_folder_holds_no_model(text_file, tmp_path):
    _transformers()
    from benchmarks import language_models as script

    with pytest.raises(SystemExit, match="holds no model"):
        script.main(["--model", str(tmp_path), "--text", str(text_file), "--device", "cpu"])


def test_the_script_says_when_the_text_is_too_short(text_file, tmp_path):
    from benchmarks import language_models as script

    folder = _save_tiny(tmp_path, "gpt2", text_file.read_text(encoding="utf-8"))
    short = tmp_path / "short.txt"
    short.write_text("too short", encoding="utf-8")
    with pytest.raises(SystemExit, match="fewer than one segment"):
        script.main(["--model", str(folder), "--calibration", str(text_file),
                     "--evaluation", str(short), "--device", "cpu", "--no-progress"])
    with pytest.raises(SystemExit, match="longer than the model's context length, 32"):
        script.main(["--model", str(folder), "--text", str(text_file), "--seqlen", "33",
                     "--device", "cpu", "--no-progress"])
    with pytest.raises(SystemExit, match="calibration text has"):
        script.main(["--model", str(folder), "--calibration", str(short),
                     "--evaluation", str(text_file), "--device", "cpu", "--no-progress"])


def test_the_script_without_transformers_names_the_extra(text_file, tmp_path, monkeypatch):
    from benchmarks import language_models as script

    monkeypatch.setitem(sys.modules, "transformers", None)  # as if not installed
    with pytest.raises(SystemExit, match=r"pip install \.\[llm\]"):
        script.main(["--model", str(tmp_path), "--text", str(text_file), "--device", "cpu"])
