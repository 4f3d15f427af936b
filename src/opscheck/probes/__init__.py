"""One module per resource kind; each measures and returns a Measurement, never judges."""
