"""forgetnet_core: tasks, models, training, evaluation and run files for ForgetNet."""
