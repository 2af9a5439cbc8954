"""Pruning criteria: the one notion of a score, and registries of them by name.

A *criterion* is a callable that scores what a pruning method may remove; the lowest
scores go first. There is one signature per kind of thing scored, and every pruning
entry point of the package takes a criterion either by its name in the registry of
its kind or as a callable of that signature, as ``torch.nn.utils.prune`` takes a
``BasePruningMethod`` and Torch-Pruning an ``Importance`` object:

* weights (:data:`helpers.prune.CRITERIA`): ``score(weight, *, generator)`` returns
  scores of ``weight``'s shape; taken by :func:`helpers.prune.layerwise_masks`,
  ``global_masks``, ``iterative_prune``, ``gradual_prune`` and
  :func:`helpers.pipeline.prune_finetune`;
* units, neurons or channels (:data:`helpers.structured.CRITERIA`):
  ``score(model, layer, *, X, y, batch_size, generator)`` returns one score per unit
  of ``layer``, shape ``(units,)``; taken by
  :func:`helpers.structured.neuron_importance`, ``prune_units`` and ``slim_channels``;
* dependency groups (:data:`helpers.dependency.CRITERIA`): ``score(model, group)``
  returns one score per channel of the group, shape ``(group.size,)``; taken by
  :func:`helpers.dependency.prune_groups`;
* calibrated layers (:data:`helpers.layerwise.CRITERIA`):
  ``criterion(weight, inputs, *, sparsity, n, m)`` returns the layer's new weight;
  taken by :func:`helpers.layerwise.prune_layerwise`.

A new criterion is one function and one line registering it
(``CRITERIA.register("name")`` as a decorator), in the module of its kind or in the
caller's own code; nothing else names it. ``generator`` is a ``torch.Generator``
seeded by the caller's ``seed``: only random criteria draw from it.

Introduced in :doc:`pruning`, section *Which neurons matter*.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Registry"]


class Registry(dict):
    """``{name: criterion}`` of one kind, in the order of registration.

    Introduced in :doc:`pruning`, section *Which neurons matter*. A dict: iterating
    gives the names (``for c in CRITERIA``), ``CRITERIA[name]`` the callable.

    Parameters
    ----------
    kind : str
        What the criteria score (``"weight"``, ``"unit"``, ``"group"``, …), for messages.
    signature : str
        The call a criterion of this kind must accept, for messages.

    Examples
    --------
    >>> import torch
    >>> from helpers.criteria import Registry
    >>> SCORES = Registry("weight", "score(weight, *, generator) -> scores")
    >>> @SCORES.register("magnitude")
    ... def magnitude(weight, *, generator=None):
    ...     return weight.abs()
    >>> list(SCORES), SCORES.resolve("magnitude") is magnitude
    (['magnitude'], True)
    >>> try:
    ...     SCORES.resolve("size")
    ... except ValueError as error:
    ...     print(str(error).split(";")[0])
    unknown weight criterion 'size'
    """

    def __init__(self, kind: str, signature: str):
        super().__init__()
        self.kind = kind
        self.signature = signature

    def register(self, name: str) -> Callable[[Callable], Callable]:
        """Decorator: register the decorated callable under ``name`` and return it.

        Raises TypeError for a name that is not a string and ValueError for a name
        that is already taken (``del registry[name]`` first to replace it).
        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"a {self.kind} criterion's name must be a non-empty string, "
                            f"got {name!r}")
        if name in self:
            raise ValueError(f"a {self.kind} criterion named {name!r} is registered "
                             f"already; choose another name or delete the entry first")

        def add(criterion: Callable) -> Callable:
            if not callable(criterion):
                raise TypeError(f"only a callable {self.signature} can be registered as a "
                                f"{self.kind} criterion, got {type(criterion).__name__}")
            self[name] = criterion
            return criterion
        return add

    def resolve(self, criterion: str | Callable) -> Callable:
        """The callable of ``criterion``, given by its name here or as a callable.

        Raises ValueError for an unknown name and TypeError for anything that is
        neither a string nor callable; both messages list the names and the signature.
        """
        if isinstance(criterion, str):
            if criterion not in self:
                raise ValueError(f"unknown {self.kind} criterion {criterion!r}; pass one "
                                 f"of {tuple(self)} or a callable {self.signature}")
            return self[criterion]
        if not callable(criterion):
            raise TypeError(f"a {self.kind} criterion must be a name of {tuple(self)} or a "
                            f"callable {self.signature}, got {type(criterion).__name__}")
        return criterion

    def name_of(self, criterion: str | Callable) -> str:
        """The name of a criterion for messages: its registry name, or its ``__name__``."""
        if isinstance(criterion, str):
            return criterion
        for name, registered in self.items():
            if registered is criterion:
                return name
        return getattr(criterion, "__name__", repr(criterion))
