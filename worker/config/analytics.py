"""The outer loop's settings: which themes are structural, who owns them, backlog targets."""

import datetime as dt
from typing import Annotated

from pydantic import Field

from worker.config.base import Section
from worker.config.values import Identifier, PositiveDuration, duration_between


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


class AnalyticsConfig(Section):
    """The outer loop: themes and the improvement backlog."""

    themes: ThemesConfig = Field(default_factory=ThemesConfig)
    backlog: BacklogConfig = Field(default_factory=BacklogConfig)
