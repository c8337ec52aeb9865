"""French activity-label normalisation and NACE (NAF rev.2) code helpers."""
