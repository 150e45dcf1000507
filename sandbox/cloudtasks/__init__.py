"""A stand-in for the Cloud Tasks REST subset the sync uses: named HTTP tasks with
de-duplication, a queue's rate and concurrency limits, retries with back-off, dispatch over
HTTP with a bearer token; and faults (a dispatch lost, sent twice, delayed)."""

from sandbox.cloudtasks.queue import QueueConfig, QueuedTask, TaskQueueCore
from sandbox.cloudtasks.service import CloudTasksSandbox, Delivery

__all__ = ["CloudTasksSandbox", "Delivery", "QueueConfig", "QueuedTask", "TaskQueueCore"]
