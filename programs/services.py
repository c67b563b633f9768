"""The rules of a figure that cross records, as plain functions every write path calls.

The admin's forms and the import run them through the models' ``rule_errors`` (``Outcome``, ``Fund``),
``load_seeds --check`` through the same methods on unsaved rows, and the article intake before it
creates an outcome. Each returns ``{field: message}``, empty when the rule holds.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from programs.printed import value_agrees


def check_figure(*, value, unit: str, value_printed: str, skip=frozenset()) -> dict:
    """The exact value and unit agree with the printed form (``3037亿元`` is 303700000000 元)."""
    if skip & {"value", "value_printed", "unit"} or not value_printed:
        return {}
    wrong = value_agrees(value, value_printed, unit)
    return {"value": wrong} if wrong else {}


def check_quote(*, quote: str, value_printed: str, source_text: str | None, source_label: str,
                skip=frozenset()) -> dict:
    """The quote occurs verbatim in its source's text, and the printed form occurs in the quote."""
    errors = {}
    if not skip & {"source", "quote"} and source_text and quote and quote not in source_text:
        errors["quote"] = _("The quote is not verbatim in the source %(source)s: “%(quote)s”") % {
            "source": source_label, "quote": quote[:40]}
    if not skip & {"quote", "value_printed"} and quote and value_printed and value_printed not in quote:
        errors["value_printed"] = _("The printed form “%(printed)s” does not occur in the quote.") % {
            "printed": value_printed}
    return errors


def check_outcome(*, outcome, skip=frozenset()) -> dict:
    """Every rule of one figure: it belongs to a program, fund or county; its value agrees with its printed
    form; its quote is verbatim in its source and holds the printed form."""
    skip = set(skip)
    errors = {}
    owners = ("program", "fund", "county")
    if not skip & set(owners) and all(
        getattr(outcome, f"{name}_id") is None and getattr(outcome, name, None) is None for name in owners
    ):
        errors["program"] = _("The figure belongs to nothing: give a program, fund or county.")
    errors.update(check_figure(value=outcome.value, unit=outcome.unit, value_printed=outcome.value_printed,
                               skip=skip))
    source = getattr(outcome, "source", None)  # None when not given yet
    for field, message in check_quote(
        quote=outcome.quote, value_printed=outcome.value_printed,
        source_text=source.text if source is not None else None,
        source_label=source.slug if source is not None else "", skip=skip,
    ).items():
        errors.setdefault(field, message)
    return errors


def check_commitment(*, fund, skip=frozenset()) -> dict:
    """A fund's exact commitment agrees with its printed form (always yuan, so the unit is not compared)."""
    if {"commitment", "commitment_printed"} & set(skip) or not fund.commitment_printed or fund.commitment is None:
        return {}
    wrong = value_agrees(fund.commitment, fund.commitment_printed, "元")
    if wrong and "unit" not in wrong:
        return {"commitment": _("commitment: %(problem)s") % {"problem": wrong}}
    return {}
