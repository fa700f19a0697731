"""Getting a nudge to Slack exactly once: claim, keyed post, pacing per conversation, recovery, the worker loop."""
