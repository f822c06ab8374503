"""triage: moderation-assist and risk-triage for peer-support communities."""

__version__ = "0.1.0"
