"""Layer kinds: how each kind of layer passes channels, and which weights are compressed.

Two facts about layers that several modules need, kept once:

* :data:`LAYER_KINDS`, how a layer treats the channels (units) that reach it: a
  *producer* writes channels (its rows or filters) and reads the previous ones; a
  *norm* (BatchNorm with affine parameters) scales and shifts each channel on its own;
  an *elementwise* module acts on each channel alone and maps a zero channel to zero;
  a *pool* acts on each channel alone over positions; a *flatten* turns positions
  into columns; a *gate* acts on each channel alone but maps zero to a nonzero value,
  so a removed channel may reach it only where a product with it follows. Both
  removal engines read it: :mod:`helpers.structured` accepts the kinds of
  :data:`STRUCTURED_KINDS` in a flat ``nn.Sequential``, :mod:`helpers.dependency`
  every kind of the table in a traced graph (where its functional forms, such as
  ``F.relu``, are listed too).
* :data:`WEIGHT_LAYERS` and :func:`select_weights`, the one rule for "which weights":
  those that L1 penalties, pruning and quantisation act on.
* :data:`LINEAR_LAYERS` and :func:`linear_weight`: the layers that multiply their
  input by a weight matrix, and which way round that matrix is stored (``nn.Linear``
  and the ``Conv1D`` of GPT-2 in transformers), read by :mod:`helpers.layerwise`.

Introduced in :doc:`pruning`, section *Structured pruning*.
"""

from __future__ import annotations

import torch
from torch import nn

from ._checks import check_model, check_plain_weights

__all__ = ["LAYER_KINDS", "STRUCTURED_KINDS", "layer_kind", "layers_of_kind",
           "WEIGHT_LAYERS", "ATTENTION_PROJECTIONS", "weight_layers", "select_weights",
           "weight_attributes", "distinct_weights", "LINEAR_LAYERS", "linear_weight"]

#: How each layer kind passes channels (see the module docstring), by class.
LAYER_KINDS: dict[type[nn.Module], str] = {
    nn.Linear: "producer", nn.Conv2d: "producer",
    nn.BatchNorm1d: "norm", nn.BatchNorm2d: "norm",
    **dict.fromkeys((nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU,
                     nn.Hardswish, nn.Mish, nn.Tanh, nn.Dropout, nn.Dropout1d, nn.Dropout2d,
                     nn.Identity), "elementwise"),
    **dict.fromkeys((nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d,
                     nn.AdaptiveMaxPool2d), "pool"),
    nn.Flatten: "flatten",
    nn.Sigmoid: "gate", nn.Hardsigmoid: "gate",
}

#: The kinds that :mod:`helpers.structured` accepts between a layer and the next one
#: (a gate needs a product with the channels it gates, which a Sequential cannot hold).
STRUCTURED_KINDS = ("producer", "norm", "elementwise", "pool", "flatten")


def layer_kind(module: nn.Module) -> str | None:
    """The kind of ``module`` in :data:`LAYER_KINDS` (a subclass has its base's), or None.

    Introduced in :doc:`pruning`, section *Structured pruning*.

    Examples
    --------
    >>> from torch import nn
    >>> from helpers.layers import layer_kind
    >>> layer_kind(nn.ReLU()), layer_kind(nn.BatchNorm2d(3)), layer_kind(nn.LayerNorm(3))
    ('elementwise', 'norm', None)
    """
    for cls in type(check_model(module, "module")).__mro__:
        if cls in LAYER_KINDS:
            return LAYER_KINDS[cls]
    return None


def layers_of_kind(*kinds: str) -> tuple[type[nn.Module], ...]:
    """The classes of :data:`LAYER_KINDS` of the given kinds, for ``isinstance``.

    Introduced in :doc:`pruning`, section *Structured pruning*. Raises ValueError for
    a kind that the table does not have.

    Examples
    --------
    >>> from helpers.layers import layers_of_kind
    >>> [cls.__name__ for cls in layers_of_kind("norm")]
    ['BatchNorm1d', 'BatchNorm2d']
    """
    unknown = sorted(set(kinds) - set(LAYER_KINDS.values()))
    if unknown:
        raise ValueError(f"unknown layer kind(s) {unknown}; the kinds are "
                         f"{sorted(set(LAYER_KINDS.values()))}")
    return tuple(cls for cls, kind in LAYER_KINDS.items() if kind in kinds)


# --- which weights: the one rule ----------------------------------------------------------

#: Layers whose weight is a matrix (Linear) or a filter bank (Conv): the layers that
#: L1 penalties, pruning and quantisation act on, and the rows of
#: :func:`helpers.metrics.layer_table`.
WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)

#: The input projections of ``nn.MultiheadAttention``: one stacked matrix, or three when
#: query, key and value differ in size.
ATTENTION_PROJECTIONS = ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight")


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, layer)`` of every layer of ``model`` in :data:`WEIGHT_LAYERS`, in order.

    Introduced in :doc:`pruning`, section *Layer-wise and global thresholds*. Raises
    TypeError if ``model`` is not a ``torch.nn.Module``.

    Examples
    --------
    >>> from torch import nn
    >>> from helpers.layers import weight_layers
    >>> [name for name, _ in weight_layers(nn.Sequential(nn.Linear(2, 2), nn.ReLU()))]
    ['0']
    """
    return [(name, module) for name, module in check_model(model).named_modules()
            if isinstance(module, WEIGHT_LAYERS)]


def select_weights(model: nn.Module, names=None, *, what: str = "selecting weights") -> dict:
    """The parameters of ``model`` that L1 penalties and pruning act on, by name.

    Introduced in :doc:`pruning`, section *Layer-wise and global thresholds*.

    Parameters
    ----------
    model : nn.Module
        The network (not changed).
    names : str or iterable of str, optional
        A parameter name or several (as in ``model.named_parameters()``); None for
        the ``weight`` of every layer in :data:`WEIGHT_LAYERS` (biases and
        normalisation parameters excluded).
    what : str
        The caller, named in the error for re-parametrised weights.

    Returns
    -------
    dict
        Name → parameter, in the model's order (or the order of ``names``).

    Raises
    ------
    TypeError
        For a name that is not a string, or a ``model`` that is not a module.
    ValueError
        For an unknown name, an empty selection, or a model that still carries
        ``torch.nn.utils.prune`` or ``parametrize`` re-parametrisations (call
        :func:`helpers.prune.make_permanent` first).

    Examples
    --------
    >>> from torch import nn
    >>> from helpers.layers import select_weights
    >>> list(select_weights(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))))
    ['0.weight', '2.weight']
    """
    check_plain_weights(check_model(model), what)
    params = dict(model.named_parameters())
    if names is None:
        selected = {f"{m_name}.weight" if m_name else "weight": m.weight
                    for m_name, m in weight_layers(model)}
        if not selected:
            raise ValueError("model has no nn.Linear or nn.Conv layer whose weights could "
                             "be selected; pass the parameter names explicitly")
        return selected
    names = [names] if isinstance(names, str) else list(names)
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise TypeError(f"parameter names must be strings, got {bad!r}")
    if not names:
        raise ValueError("names is empty: select at least one parameter")
    missing = [n for n in names if n not in params]
    if missing:
        raise ValueError(f"unknown parameter name(s) {missing}; the model has "
                         f"{list(params)}")
    return {n: params[n] for n in names}


def weight_attributes(module: nn.Module) -> tuple[str, ...]:
    """The weights of ``module`` that L1 penalties, pruning and quantisation act on.

    Introduced in :doc:`pruning`, section *Layer-wise and global thresholds*. By
    attribute name: ``("weight",)`` for a layer in :data:`WEIGHT_LAYERS`, the input
    projections (:data:`ATTENTION_PROJECTIONS`) it has for an ``nn.MultiheadAttention``,
    none otherwise. The one rule behind :func:`distinct_weights` and the metrics.

    Examples
    --------
    >>> from torch import nn
    >>> from helpers.layers import weight_attributes
    >>> weight_attributes(nn.Linear(2, 2)), weight_attributes(nn.ReLU())
    (('weight',), ())
    """
    if isinstance(module, WEIGHT_LAYERS):
        return ("weight",)
    if isinstance(module, nn.MultiheadAttention):
        return tuple(p for p in ATTENTION_PROJECTIONS if getattr(module, p, None) is not None)
    return ()


def distinct_weights(model: nn.Module, names=None, *, what: str = "selecting weights",
                     required: bool = True) -> dict[str, torch.Tensor]:
    """The weights that L1 penalties, pruning and quantisation act on: each tensor once.

    Introduced in :doc:`pruning`, section *Layer-wise and global thresholds*.
    :func:`select_weights`, with two additions. By default the input projections of
    every ``nn.MultiheadAttention`` are selected too (:data:`ATTENTION_PROJECTIONS`:
    the query, key and value matrices that Linear layers hold elsewhere; its
    ``out_proj`` is a Linear layer already). And a tensor that several names share
    (tied parameters, e.g. a language model's read-out tied to its embedding, Press
    & Wolf 2017) is selected once, under the first name that selects it, so that a
    penalty counts it once, a proximal step shrinks it once and it gets one mask;
    any of its names may be passed in ``names``. Errors as in :func:`select_weights`;
    with ``required=False`` a model without such weights gives an empty dict.

    Examples
    --------
    >>> from torch import nn
    >>> from helpers.layers import distinct_weights
    >>> tied = nn.Sequential(nn.Linear(2, 2, bias=False), nn.Linear(2, 2, bias=False))
    >>> tied[1].weight = tied[0].weight
    >>> list(distinct_weights(tied))
    ['0.weight']
    """
    check_model(model)
    if names is None:
        names = []
        for m_name, module in model.named_modules():
            prefix = f"{m_name}." if m_name else ""
            names += [prefix + attr for attr in weight_attributes(module)]
        if not names and not required:
            check_plain_weights(model, what)
            return {}
        if not names:
            return select_weights(model, None, what=what)  # raises: nothing to select
    names = [names] if isinstance(names, str) else list(names)
    every = dict(model.named_parameters(remove_duplicate=False))
    listed = {id(p): n for n, p in model.named_parameters()}
    canonical = [listed[id(every[n])] if isinstance(n, str) and n in every else n
                 for n in names]
    selected = select_weights(model, canonical, what=what)
    distinct, seen = {}, set()
    for name, first in zip(names, canonical):
        if id(selected[first]) not in seen:
            seen.add(id(selected[first]))
            distinct[name] = selected[first]
    return distinct


# --- linear layers, whichever way round they store their weight ---------------------------

#: Layers that compute ``x @ Wᵀ + b`` with a weight matrix ``W`` of shape ``(out, in)``,
#: by class, with the way their ``weight`` attribute stores it: ``"out, in"`` (``W``
#: itself, as ``nn.Linear``) or ``"in, out"`` (``Wᵀ``: the ``Conv1D`` of GPT-2 in
#: transformers computes ``x @ weight + bias``). A class of an optional package is
#: named by ``"module.QualName"`` and matched without importing the package; add an
#: entry, class or name, for a layer of one's own.
LINEAR_LAYERS: dict[type[nn.Module] | str, str] = {
    nn.Linear: "out, in",
    "transformers.pytorch_utils.Conv1D": "in, out",
}

_LAYOUTS = ("out, in", "in, out")


def _linear_layout(layer: nn.Module) -> str | None:
    """The entry of :data:`LINEAR_LAYERS` for ``layer``'s class or a base class, or None."""
    for cls in type(layer).__mro__:
        for key in (cls, f"{cls.__module__}.{cls.__qualname__}"):
            if key in LINEAR_LAYERS:
                layout = LINEAR_LAYERS[key]
                if layout not in _LAYOUTS:
                    raise ValueError(f"LINEAR_LAYERS[{key!r}] is {layout!r}; a layout "
                                     f"is one of {_LAYOUTS}")
                return layout
    return None


def linear_weight(layer: nn.Module) -> torch.Tensor | None:
    """The weight matrix of a linear layer as ``(out, in)``, or None for another layer.

    Introduced in :doc:`language-models`, section *Pruning a real language model*.
    For a layer of :data:`LINEAR_LAYERS` (a subclass has its base's entry): its
    ``weight`` (``"out, in"``) or ``weight.T`` (``"in, out"``, GPT-2's ``Conv1D``),
    a view of the layer's own tensor, so that writing into it writes the layer
    (under ``torch.no_grad()``). ``out`` is the number of outputs, ``in`` of
    inputs: the layer's inputs ``x`` have shape ``(..., in)``.

    Raises
    ------
    TypeError
        If ``layer`` is not a ``torch.nn.Module``.
    ValueError
        For a layer of :data:`LINEAR_LAYERS` whose ``weight`` is not a matrix, or an
        entry of the table that is not a layout.

    Examples
    --------
    >>> from torch import nn
    >>> from helpers.layers import linear_weight
    >>> tuple(linear_weight(nn.Linear(3, 2)).shape), linear_weight(nn.ReLU())
    ((2, 3), None)
    """
    layout = _linear_layout(check_model(layer, "layer"))
    if layout is None:
        return None
    weight = getattr(layer, "weight", None)
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2:
        raise ValueError(f"{type(layer).__name__} is in LINEAR_LAYERS but its weight is "
                         f"not a matrix (got {getattr(weight, 'shape', weight)!r})")
    return weight if layout == "out, in" else weight.T
