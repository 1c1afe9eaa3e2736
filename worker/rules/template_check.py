"""Render RevOps' task templates once, strictly, against a sample of what they will be given.

At run time a misspelt variable (`{{ contact.nmae }}`) renders as nothing and the CRM task
reads "NPS detractor (3): "; `check` renders each template with `StrictUndefined` instead, so
the typo is named before the first detractor answers.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from worker.config import Config


class _Record(dict[str, Any]):
    """A sample `contact`, `account`, ... that knows its own name, for the error message."""

    def __init__(self, label: str, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self.label = label


class _Unknown(StrictUndefined):
    """Names the variable in the template's own words: `contact.nmae`, not 'dict object'."""

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> Any:
        owner = self._undefined_obj
        if isinstance(owner, _Record):
            raise UndefinedError(f"'{owner.label}.{self._undefined_name}'")
        raise UndefinedError(f"'{self._undefined_name}'")

    __str__ = __iter__ = __len__ = __eq__ = __bool__ = __getattr__ = _fail_with_undefined_error


_STRICT = SandboxedEnvironment(autoescape=False, undefined=_Unknown)

_RESPONSE = {
    "score": 3,
    "category": "detractor",
    "comment": "The export keeps failing.",
    "tags": ["quality"],
    "summary": "export failing",
    "severity": "severe",
}


def template_problems(config: Config) -> Iterator[tuple[tuple[str, ...], str]]:
    """(key path, problem) for each follow-up template that fails against a sample context."""
    people = _people(config)
    for category in ("detractor", "passive", "promoter"):
        task = getattr(config.followup, category).task
        context = {
            **people,
            "response": _Record("response", _RESPONSE),
            "program": "support_case_closed",
        }
        for part in ("subject", "body"):
            problem = _problem(getattr(task, part), context)
            if problem:
                yield ("followup", category, "task", part), problem
    alert = config.followup.non_response
    context = {
        "contact": _Record("contact", {**people["contact"], "role": "CFO"}),
        "account": people["account"],
        "survey": _Record("survey", {"sent_at": "2026-01-05", "key": "sample"}),
        "program": "renewal_upcoming",
    }
    for part in ("subject", "body"):
        problem = _problem(getattr(alert, part), context)
        if problem:
            yield ("followup", "non_response", part), problem


def _people(config: Config) -> dict[str, _Record]:
    """`contact` and `account` as `rules.followup.template_variables` builds them."""
    contact: dict[str, Any] = {
        "name": "Hanako Sato",
        "first_name": "Hanako",
        "last_name": "Sato",
        "crm_id": "003000000000001AAA",
    }
    account: dict[str, Any] = {"name": "Example KK", "crm_id": "001000000000001AAA"}
    for name, source in config.segments.fields.items():
        record = contact if source.startswith("contact.") else account
        record[name] = "sample"
    return {"contact": _Record("contact", contact), "account": _Record("account", account)}


def _problem(template: str | None, context: Mapping[str, Any]) -> str | None:
    """None when the template renders (or is unset: the worker writes the task itself)."""
    if template is None:
        return None
    try:
        _STRICT.from_string(template).render(**context)
    except UndefinedError as error:
        return f"template uses {error.message}, which is not a variable (known: {_known(context)})"
    except TemplateError as error:
        return f"template cannot be rendered: {error.message}"
    return None


def _known(context: Mapping[str, Any]) -> str:
    names: list[str] = []
    for key, value in context.items():
        if isinstance(value, Mapping):
            names.extend(f"{key}.{inner}" for inner in value)
        else:
            names.append(key)
    return ", ".join(names)
