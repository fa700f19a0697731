"""Pure domain: models, rules and parsing. Nothing here touches Slack, the clock or a session."""
