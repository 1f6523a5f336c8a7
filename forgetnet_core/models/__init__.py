"""ForgetNet memory models and Transformer baselines, built through one registry."""
