"""Constraints: what a user states about a plan (budget, caps, horizon, team, channels, goals), read from text in
both languages or typed, and checked against a plan. See README.md in this folder for the kinds and the layout."""
