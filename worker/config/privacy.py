"""Privacy settings: how long the personal data around answers is kept."""

import datetime as dt
from typing import Annotated

from pydantic import Field

from worker.config.base import Section
from worker.config.values import Duration, duration_between

RetentionPeriod = Annotated[Duration, duration_between("1d", "36500d")]
"""An age after which personal data is erased: one day to a hundred years."""


class RetentionConfig(Section):
    """Ages after which personal data is erased; scores, categories and tags are always kept.

    None keeps the data for as long as the database lives.
    """

    comments: RetentionPeriod | None = dt.timedelta(days=730)
    """Free-text comments of answers, and the payloads of CRM writes already made."""
    personal_fields: RetentionPeriod | None = dt.timedelta(days=730)
    """Names, e-mail and fields of contacts deleted in the CRM, and payloads of old CRM events."""


class PrivacyConfig(Section):
    """Data protection: retention of personal data (erasure on request is `nps-worker forget`)."""

    retention: RetentionConfig = Field(default_factory=RetentionConfig)
