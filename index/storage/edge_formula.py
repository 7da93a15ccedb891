"""Score formulas (Qdrant's FormulaQuery) in qdrant-edge's vocabulary.

Search adds ranking priors (popularity, main entries before side stories, title matches,
what the query's words asked for) to the fused score with a formula, so that filters and
paging keep running inside the engine on both backends. The expression tree is mapped one
node at a time; conditions reuse the filter translation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import qdrant_edge as qe
from qdrant_client import models

from index.storage.base import StoreError

ConditionIn = Callable[[Any], Any]

_DECAYS: dict[type, tuple[str, Any]] = {
    models.LinDecayExpression: ("lin_decay", qe.DecayKind.Lin),
    models.ExpDecayExpression: ("exp_decay", qe.DecayKind.Exp),
    models.GaussDecayExpression: ("gauss_decay", qe.DecayKind.Gauss),
}
_CONDITIONS = (
    models.FieldCondition,
    models.IsEmptyCondition,
    models.IsNullCondition,
    models.HasIdCondition,
    models.HasVectorCondition,
    models.NestedCondition,
    models.Filter,
)


def formula_in(query: models.FormulaQuery, condition_in: ConditionIn) -> qe.Formula:
    """The formula with its variable defaults; ``condition_in`` translates filter conditions."""
    return qe.Formula(expression_in(query.formula, condition_in), defaults=dict(query.defaults or {}) or None)


def expression_in(e: Any, condition_in: ConditionIn) -> Any:
    def sub(x: Any) -> Any:
        return expression_in(x, condition_in)

    E = qe.Expression
    if isinstance(e, bool):
        raise StoreError("a formula constant must be a number, not a boolean")
    if isinstance(e, (int, float)):
        return E.Constant(float(e))
    if isinstance(e, str):
        return E.Variable(e)
    if isinstance(e, _CONDITIONS):
        return E.Condition(condition_in(e))
    if isinstance(e, models.SumExpression):
        return E.Sum([sub(x) for x in e.sum])
    if isinstance(e, models.MultExpression):
        return E.Mult([sub(x) for x in e.mult])
    if isinstance(e, models.MaxExpression):
        return E.Max([sub(x) for x in e.max])
    if isinstance(e, models.MinExpression):
        return E.Min([sub(x) for x in e.min])
    if isinstance(e, models.NegExpression):
        return E.Neg(sub(e.neg))
    if isinstance(e, models.AbsExpression):
        return E.Abs(sub(e.abs))
    if isinstance(e, models.SqrtExpression):
        return E.Sqrt(sub(e.sqrt))
    if isinstance(e, models.ExpExpression):
        return E.Exp(sub(e.exp))
    if isinstance(e, models.Log10Expression):
        return E.Log10(sub(e.log10))
    if isinstance(e, models.LnExpression):
        return E.Ln(sub(e.ln))
    if isinstance(e, models.PowExpression):
        return E.Pow(sub(e.pow.base), sub(e.pow.exponent))
    if isinstance(e, models.DivExpression):
        return E.Div(sub(e.div.left), sub(e.div.right), by_zero_default=e.div.by_zero_default)
    if type(e) in _DECAYS:
        field, kind = _DECAYS[type(e)]
        p: models.DecayParamsExpression = getattr(e, field)
        target = sub(p.target) if p.target is not None else None
        return E.Decay(kind, sub(p.x), target=target, midpoint=p.midpoint, scale=p.scale)
    raise StoreError(f"the embedded engine does not support the formula expression {type(e).__name__}")
