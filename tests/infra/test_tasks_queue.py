"""The Cloud Tasks dispatch as deployed (infra/terraform/tasks.tf), read from the Terraform: the
queue's limits consistent with the function's instances, the tasks account able to invoke the
sync function only, and who may enqueue and mint its tokens."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.hcl import load, local, resources, text


@pytest.fixture(scope="module")
def tf() -> dict[str, Any]:
    return load()


def test_the_queue_never_dispatches_more_runs_than_instances_less_one_for_the_tick(tf: dict[str, Any]) -> None:
    (queue,) = resources(tf, "google_cloud_tasks_queue").values()
    (limits,) = queue["rate_limits"]
    assert limits["max_concurrent_dispatches"] == "${max(1, var.function_max_instances - 1)}"
    assert limits["max_dispatches_per_second"] == "${var.tasks_dispatches_per_second}"
    service = resources(tf, "google_cloudfunctions2_function")["sync"]["service_config"][0]
    assert service["max_instance_request_concurrency"] == 1
    assert service["max_instance_count"] == "${var.function_max_instances}"


def test_a_failed_or_busy_run_is_retried_with_back_off_a_bounded_number_of_times(tf: dict[str, Any]) -> None:
    (queue,) = resources(tf, "google_cloud_tasks_queue").values()
    (retry,) = queue["retry_config"]
    assert retry["max_attempts"] == "${var.tasks_max_attempts}"
    assert retry["min_backoff"] == "30s" and retry["max_doublings"] >= 1
    # The longest back-off stays within a lease's life (the function's timeout, 1,800 s).
    assert int(retry["max_backoff"].rstrip("s")) <= 1800


def test_the_tasks_account_invokes_the_sync_function_and_nothing_else(tf: dict[str, Any]) -> None:
    granted = [
        (rtype, name, body)
        for rtype, named in tf["resource"].items()
        if "iam" in rtype
        for name, body in named.items()
        if "google_service_account.tasks.email" in text(body.get("member", ""))
    ]
    ((rtype, _, body),) = granted
    assert rtype == "google_cloud_run_service_iam_member" and body["role"] == "roles/run.invoker"
    assert body["service"] == "${google_cloudfunctions2_function.sync.name}"


def test_only_the_runtimes_enqueue_on_this_queue_and_act_as_the_tasks_account_only(tf: dict[str, Any]) -> None:
    enqueue = resources(tf, "google_cloud_tasks_queue_iam_member")["enqueuers"]
    assert enqueue["role"] == "roles/cloudtasks.enqueuer"
    assert enqueue["name"] == "${google_cloud_tasks_queue.runs.name}"
    act_as = resources(tf, "google_service_account_iam_member")["enqueuers_act_as_tasks"]
    assert act_as["role"] == "roles/iam.serviceAccountUser"
    assert act_as["service_account_id"] == "${google_service_account.tasks.name}"
    assert set(local(tf, "enqueuers")) == {"runtime", "page", "receiver"}
    # No project-wide grant of either role.
    project_roles = text(resources(tf, "google_project_iam_member"))
    assert "cloudtasks" not in project_roles and "serviceAccountUser" not in project_roles


def test_the_sync_function_page_and_receiver_dispatch_on_the_queue(tf: dict[str, Any]) -> None:
    functions = resources(tf, "google_cloudfunctions2_function")
    for name in ("sync", "receiver", "page"):
        environment = functions[name]["service_config"][0]["environment_variables"]
        assert environment["SYNC_DISPATCH"] == "tasks"
        assert environment["SYNC_TASKS_QUEUE"] == "${google_cloud_tasks_queue.runs.id}"
        assert environment["SYNC_TASKS_SERVICE_ACCOUNT"] == "${google_service_account.tasks.email}"
    # The tasks' address is the sync function's own, named before it exists.
    assert functions["sync"]["service_config"][0]["environment_variables"]["SYNC_SYNC_FUNCTION_URL"] == (
        "${local.sync_function_url}"
    )
