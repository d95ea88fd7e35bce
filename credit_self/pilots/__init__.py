"""Scoring pilots: enrolment, score ledger, grades; pilot admin console."""
