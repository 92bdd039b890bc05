"""The soak: the full stack under faults for as long as asked (`make soak MINUTES=N`)."""
