"""Style transfer on top of trained models: interactive sessions (and, later, back-translation)."""
