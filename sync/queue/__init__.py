"""Dispatch of runs through a task queue: the port the serving layer sees, and the Cloud Tasks
adapter behind it."""
