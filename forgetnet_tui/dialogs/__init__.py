"""The lab's modal dialogs, one per module; their styles are in dialogs.tcss.

help (key help, ?), confirm (yes/no), overlay_picker (Train: runs to overlay), checkpoint_picker,
sweep_picker, fresh_model_picker, export_dialog and difficulty (Evaluate), model_picker (Stepper),
choice_menu (a ChoiceField's full list).
"""
