"""Turning outside data into canonical facts: report files (``files``) and platform APIs
(``api``)."""
