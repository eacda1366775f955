"""Cohorts: synthetic patients drawn from the scenario's distributions, or a user's table of
patients resampled; one block of patient ids at a time, keyed by patient id."""
