"""The weekly review pack: what changed this week, e-mailed and posted to chat on a schedule."""
