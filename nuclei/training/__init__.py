"""A training run: its configuration, data, step, epoch-end duties, checkpoints and report."""
