"""Reports on trained models: plots now; interpolation and arithmetic pages to come."""
