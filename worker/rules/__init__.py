"""Rules: where RevOps' YAML becomes decisions. Pure: records and `now` in, decisions out.

The cycle calls, in order of the flow (DESIGN.md section 2):

- `triggers.record_change_events(program_id, program, previous_values, record, *, first_sync,
  now, backfill_window) -> list[TriggerDecision]`, `triggers.date_offset_events(program_id,
  program, record, *, now, backfill_window)`, `triggers.schedule_events(program_id, program,
  contacts, *, last_run, now, backfill_window)`: each decision carries an `EventCandidate`
  (`.event`, with its `dedup_key`) or a refusal `reason_code`. `triggers.expand_contacts(event,
  contacts, accounts, values)` turns an account-level event into one per selected contact.
- `eligibility.check_eligibility(candidate, contact, account, situation, *, program, survey,
  now) -> Eligibility` (`send | defer | refuse`, `send_at`, `reason_code`, every `Check`);
  `eligibility.survey_timeline(send_at, survey) -> Timeline` (reminders, expiry).
- `tagging.Tagger(config.tags, learned=...).tag(comment, language, chosen) -> TagResult` (tags,
  polarity, summary; the rules with a learned second opinion).
- `followup.plan_followup(response, contact, account, context, config.followup, *, now) ->
  FollowupPlan`; `followup.next_escalation(followup_facts, contact, account, context,
  config.followup, *, now) -> Escalation | None`;
  `alerts.non_response_alerts(surveys, contacts, accounts, values, config.followup, *, now)`.
- `explain.render(decision) -> list[str]` for `explain` and `sync --dry-run`.
- `conditions.evaluate(condition, values, previous=None) -> ConditionResult`;
  `conditions.qualified(contact_fields, account_fields)` keys values as audiences read them.
"""
