"""Alerts: rules over KPIs, targets, documents, SLAs and integrity flags; a state machine per
alert; notifications through e-mail, webhooks and chat bots (see ``docs/alerts.md``)."""
