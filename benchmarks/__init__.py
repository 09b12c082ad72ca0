"""`make bench`: each figure is printed as one line `BENCH <name> <value> <unit> target=<target>`."""
