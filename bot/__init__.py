"""mentorbot: a Slack bot that keeps mentoring pairs alive."""
