"""Report writers: each turns the run's records into one file of the run folder."""
