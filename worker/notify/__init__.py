"""Chat notifications: Slack and Microsoft Teams incoming webhooks, posted in the background."""
