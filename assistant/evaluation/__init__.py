"""Evaluation: the question sets' runner, pure metric functions, the perturbation suite and scripted conversations."""
