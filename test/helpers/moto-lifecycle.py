#!/usr/bin/env python3
"""moto_server (moto 5.2.1) with the two Auto Scaling lifecycle actions it lacks, registered on
moto's own autoscaling backend so that they share its state (groups, instances, lifecycle hooks):

- CompleteLifecycleAction and RecordLifecycleActionHeartbeat check, as AWS does, that the group
  exists, that the hook exists on it, that the instance is in the group and waiting in that hook
  (Terminating:Wait or Pending:Wait), and that a LifecycleActionToken, when given, is that
  action's. Completing moves the instance on (Terminating:Proceed / Pending:Proceed).
- Test-only paths on the same port (no AWS counterpart; moto's account and us-east-1):
  `POST /x-test/lifecycle/enter-wait?group=G&hook=H&instance=I` puts an instance into the hook's
  wait state, as a scale-in would, and answers the action's token as JSON;
  `GET /x-test/lifecycle/actions` answers, as JSON, every heartbeat and completion recorded (with
  the time it arrived), so a test reads what the host did. DescribeAutoScalingInstances shows the
  instance's state (Terminating:Wait, then Terminating:Proceed).

Usage: moto-lifecycle.py -H 127.0.0.1 -p PORT (moto_server's own arguments)."""
import json
import sys
import threading
import time
import urllib.parse
import uuid

import moto.server
from moto.autoscaling.exceptions import ValidationError
from moto.autoscaling.models import autoscaling_backends
from moto.autoscaling.responses import AutoScalingResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import EmptyResult
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

LOCK = threading.Lock()
# per backend (account, region): {"actions": {(group, hook, instance): token}, "records": [...]}
STATE = {}


def state_of(backend):
    return STATE.setdefault((backend.account_id, backend.region_name), {"actions": {}, "records": []})


def instance_state(backend, group_name, instance_id):
    group = backend.autoscaling_groups.get(group_name)
    if group is None:
        raise ValidationError(f"Group {group_name} not found")
    for candidate in group.instance_states:
        if candidate.instance.id == instance_id:
            return candidate
    return None


def hook_of(backend, group_name, hook_name):
    hook = backend.lifecycle_hooks.get(f"{group_name}_{hook_name}")
    if hook is None:
        raise ValidationError(f"No Lifecycle Hook found with name {hook_name} for group {group_name}")
    return hook


def waiting_action(response):
    """(state, instance id, key) of the lifecycle action a request names; AWS's ValidationError else."""
    backend = response.autoscaling_backend
    group = response._get_param("AutoScalingGroupName")
    hook_name = response._get_param("LifecycleHookName")
    instance_id = response._get_param("InstanceId")
    token = response._get_param("LifecycleActionToken")
    hook_of(backend, group, hook_name)
    actions = state_of(backend)["actions"]
    if instance_id is None and token is not None:
        instance_id = next((key[2] for key, value in actions.items() if value == token and key[:2] == (group, hook_name)), None)
        if instance_id is None:
            raise ValidationError(f"No active Lifecycle Action found with token {token}")
    if instance_id is None:
        raise ValidationError("Either InstanceId or LifecycleActionToken is required")
    key = (group, hook_name, instance_id)
    current = instance_state(backend, group, instance_id)
    if current is None or key not in actions or not current.lifecycle_state.endswith(":Wait"):
        raise ValidationError(f"No active Lifecycle Action found with instance ID {instance_id}")
    if token is not None and actions[key] != token:
        raise ValidationError(f"No active Lifecycle Action found with token {token}")
    return current, instance_id, key


def record(response, kind, key, **extra):
    entry = {"kind": kind, "group": key[0], "hook": key[1], "instance": key[2], "time": time.time(), **extra}
    state_of(response.autoscaling_backend)["records"].append(entry)


def complete_lifecycle_action(self):
    with LOCK:
        current, _, key = waiting_action(self)
        result = self._get_param("LifecycleActionResult")
        if result not in ("CONTINUE", "ABANDON"):
            raise ValidationError(f"LifecycleActionResult {result!r} is not CONTINUE or ABANDON")
        current.lifecycle_state = current.lifecycle_state.replace(":Wait", ":Proceed")
        del state_of(self.autoscaling_backend)["actions"][key]
        record(self, "complete", key, result=result)
    return EmptyResult()


def record_lifecycle_action_heartbeat(self):
    with LOCK:
        _, _, key = waiting_action(self)
        record(self, "heartbeat", key)
    return EmptyResult()


def enter_wait(backend, group, hook_name, instance_id):
    with LOCK:
        hook = hook_of(backend, group, hook_name)
        current = instance_state(backend, group, instance_id)
        if current is None:
            raise ValidationError(f"Instance {instance_id} is not in group {group}")
        current.lifecycle_state = "Terminating:Wait" if "TERMINATING" in (hook.lifecycle_transition or "") else "Pending:Wait"
        token = str(uuid.uuid4())
        state_of(backend)["actions"][(group, hook_name, instance_id)] = token
    return {"LifecycleActionToken": token, "LifecycleState": current.lifecycle_state}


class WithTestPaths(DomainDispatcherApplication):
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/x-test/lifecycle/"):
            return super().__call__(environ, start_response)
        backend = autoscaling_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
        query = {k: v[0] for k, v in urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            if path == "/x-test/lifecycle/enter-wait":
                answer = enter_wait(backend, query.get("group"), query.get("hook"), query.get("instance"))
            elif path == "/x-test/lifecycle/actions":
                with LOCK:
                    answer = list(state_of(backend)["records"])
            else:
                raise ValidationError(f"unknown test path {path}")
            status = "200 OK"
        except ValidationError as e:
            answer, status = {"error": str(e)}, "400 Bad Request"
        body = json.dumps(answer).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


for function in (complete_lifecycle_action, record_lifecycle_action_heartbeat):
    setattr(AutoScalingResponse, function.__name__, function)
moto.server.DomainDispatcherApplication = WithTestPaths

if __name__ == "__main__":
    moto.server.main(sys.argv[1:])
