"""Choosing and holding an agency: profiles, case studies, grant freezes, buy vs build."""
