"""E-mails other than surveys (weekly digest, "you said, we did"), built one way.

They go out through the survey mail transport (`survey.mail`), from the survey sender, with a
stable Message-ID so a second hand-over of the same message is recognisable as such.
"""

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from worker.config.survey import SurveyConfig
from worker.surveys.render import MAIL_POLICY


def compose(
    survey: SurveyConfig,
    *,
    to: str,
    subject: str,
    text: str,
    html: str,
    message_key: str,
    language: str,
    now: datetime,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    """A text + HTML message; `message_key` (dots and alphanumerics) makes its Message-ID."""
    domain = survey.sender.address.rpartition("@")[2]
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = formataddr((survey.sender.name, survey.sender.address))
    message["To"] = to
    message["Subject"] = " ".join(subject.split())
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = f"<{message_key}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url is not None:
        message.set_raw("List-Unsubscribe", f"<{unsubscribe_url}>")
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    message["Content-Language"] = language
    return message
