"""Slice values that stand for a missing or unusable value, shown translated in the report."""

NOT_SET = "(not set)"
"""The slice value of an answer whose contact or account has no value for a segment field."""
NO_ACCOUNT = "(no account)"
"""The account slice of an answer whose contact belongs to no account."""
NOT_A_NUMBER = "(not a number)"
"""The band of a segment value that is not a number."""
