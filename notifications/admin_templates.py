"""Admin of message templates (announcements)."""
