"""`aegis deploy --swarm`: the generated compose file on a one-node swarm, with replicas."""
import os, uuid
import pytest
from stackfix import write_stack

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("docker")]


def test_swarm_deploy_with_replicas(tmp_path):
    from aegis.engine import engine_answers, engine
    if not engine_answers():
        if os.environ.get("CI"): pytest.fail("no Docker engine answers")
        pytest.skip("no Docker engine")
    from aegis.swarm import deploy_swarm, ensure_swarm, remove_stack, stack_services
    client = engine()
    d = write_stack(tmp_path / f"sw{uuid.uuid4().hex[:6]}", postgres=False, scheduler=False)
    created = ensure_swarm(client, say=lambda m: None)
    try:
        st = deploy_swarm(d, replicas={"webserver": 2, "worker": 2}, wait=180, say=lambda m: None)
        assert st["webserver"] == (2, 2) and st["worker"] == (2, 2) and st["redis"] == (1, 1)
        remove_stack(d)
        assert stack_services(client, d.name) == {}
    finally:
        if created: client.swarm.leave(force=True)
