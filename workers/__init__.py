"""Process entry points: the control worker, per-host workers, the dev stack."""
