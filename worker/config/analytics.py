"""The outer loop's settings: themes, the backlog, labels, KPI targets and interventions."""

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, field_validator

from worker.config.base import Section
from worker.config.errors import invalid
from worker.config.values import (
    Identifier,
    LanguageCode,
    PositiveDuration,
    duration_between,
)


class ThemesConfig(Section):
    """How reason themes are split and owned in the report and the improvement backlog."""

    structural: tuple[Identifier, ...] = ("price_contract", "feature_value", "integrations")
    """Tag ids that need roadmap, pricing or contract work; every other tag is a quick fix."""
    owners: dict[Identifier, str] = Field(default_factory=dict)
    """Who owns the backlog item of a theme (a CRM user id or a team name), by tag id."""
    prior_weight: float = Field(3.0, ge=0, le=10_000)
    """Pseudo-answers at the overall mix that each theme's NPS is pulled toward (shrinkage)."""


class BacklogConfig(Section):
    """How the top themes become improvement backlog items."""

    size: int = Field(5, ge=1, le=50)
    """How many of the top-ranked themes become items."""
    quick_fix_due: Annotated[PositiveDuration, duration_between("1d", "365d")] = dt.timedelta(
        days=30
    )
    """Due date of a quick-fix item, counted from the report's date."""
    structural_due: Annotated[PositiveDuration, duration_between("1d", "730d")] = dt.timedelta(
        days=90
    )
    """Due date of a structural item, counted from the report's date."""
    target_points: float = Field(5.0, gt=0, le=100)
    """Definition of done: detractor share among answers citing the theme down this many points."""
    default_owner: str = Field("unassigned", min_length=1)
    """Owner of a theme missing from `themes.owners`."""
    plan_window: Annotated[PositiveDuration, duration_between("7d", "730d")] = dt.timedelta(days=90)
    """Themes are ranked over this trailing period when items are planned (`backlog plan`)."""


Texts = dict[LanguageCode, Annotated[str, Field(min_length=1, max_length=100)]]
"""A display text per language: `{en: Support case closed, ja: サポートケース完了後}`."""


class LabelsConfig(Section):
    """Display names in the report's languages for program and touchpoint ids."""

    programs: dict[Identifier, Texts] = Field(default_factory=dict)
    """Program id -> text per language (built in for the default program ids)."""
    touchpoints: dict[Annotated[str, Field(min_length=1, max_length=60)], Texts] = Field(
        default_factory=dict
    )
    """Touchpoint -> text per language (built in for support, onboarding, renewal, ...)."""


class TargetsConfig(Section):
    """What good looks like: each KPI against its target in the report and the digest."""

    nps: float | None = Field(None, ge=-100, le=100)
    """Overall NPS to reach (points)."""
    response_rate: float | None = Field(None, ge=0, le=100)
    sla_compliance: float | None = Field(None, ge=0, le=100)
    followup_completion: float | None = Field(None, ge=0, le=100)
    action_completion: float | None = Field(None, ge=0, le=100)
    detractor_recovery: float | None = Field(None, ge=0, le=100)
    theme_recurrence: float | None = Field(None, ge=0, le=100)
    """At most this share (lower is better)."""
    time_to_first_contact: float | None = Field(None, gt=0, le=10_000)
    """At most this many hours (lower is better)."""
    time_to_close: float | None = Field(None, gt=0, le=10_000)
    """At most this many hours (lower is better)."""

    def of(self, kpi: str) -> float | None:
        """The target of KPI `kpi` (or `nps`), None when not set."""
        value = getattr(self, kpi, None)
        return value if isinstance(value, float | int) else None


LOWER_IS_BETTER = frozenset({"theme_recurrence", "time_to_first_contact", "time_to_close"})
"""KPIs met when at or below their target; the others are met at or above it."""


class InterventionConfig(Section):
    """A change made on a date, whose effect on NPS the report shows before and after."""

    date: dt.date
    label: str = Field(min_length=1, max_length=200)
    segment: dict[str, str] | None = None
    """The one slice it targets, e.g. `{touchpoint: onboarding}` or `{segment.plan: Enterprise}`."""

    @field_validator("segment")
    @classmethod
    def _one_slice(cls, value: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        if value is not None and len(value) != 1:
            raise invalid("name exactly one slice, e.g. {touchpoint: onboarding}")
        return value


class AnalyticsConfig(Section):
    """The outer loop: themes, the improvement backlog, labels, KPI targets, interventions."""

    themes: ThemesConfig = Field(default_factory=ThemesConfig)
    backlog: BacklogConfig = Field(default_factory=BacklogConfig)
    labels: LabelsConfig = Field(default_factory=LabelsConfig)
    targets: TargetsConfig = Field(default_factory=TargetsConfig)
    interventions: tuple[InterventionConfig, ...] = ()
    """Changes whose before/after the report shows; `nps-worker intervention add` adds more."""
    intervention_window: Annotated[PositiveDuration, duration_between("7d", "365d")] = dt.timedelta(
        days=28
    )
    """NPS before an intervention is measured over this long before it, and after over as long."""
