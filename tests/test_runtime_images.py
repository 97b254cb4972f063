"""The stand-in base images behave like the official ones where projects rely on them."""
import os, time, uuid
import pytest

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("docker")]


@pytest.fixture(scope="module")
def client():
    from aegis.engine import engine_answers, engine
    if not engine_answers():
        if os.environ.get("CI"): pytest.fail("no Docker engine answers")
        pytest.skip("no Docker engine")
    return engine()


@pytest.fixture(scope="module")
def net(client):
    n = client.networks.create(f"aegis-img-{uuid.uuid4().hex[:6]}")
    yield n.name
    n.remove()


def _run(client, tag, net, **kw):
    return client.containers.run(tag, detach=True, network=net, **kw)


def _exec(c, cmd):
    r = c.exec_run(cmd)
    return r.exit_code, r.output.decode(errors="replace")


def _until(fn, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if fn(): return True
        time.sleep(0.3)
    return False


def test_postgres_standin_env_contract(client, net):
    from aegis.images import ensure_standin
    pg = _run(client, ensure_standin("postgres", client), net,
              environment={"POSTGRES_USER": "shop", "POSTGRES_PASSWORD": "pw", "POSTGRES_DB": "shopdb"}, name=f"pg{uuid.uuid4().hex[:6]}")
    try:
        assert _until(lambda: _exec(pg, ["sh", "-c", "pg_isready -h 127.0.0.1 -U $POSTGRES_USER -d $POSTGRES_DB"])[0] == 0)
        # over the network, with the password (not trust), as the app connects
        cli = client.containers.run(ensure_standin("postgres", client), ["psql", f"postgresql://shop:pw@{pg.name}/shopdb", "-tAc", "select current_user"],
                                    network=net, remove=True, entrypoint=[])
        assert cli.decode().strip() == "shop"
        # a wrong password over the network is refused (loopback inside the container trusts, as in the official image)
        bad = client.containers.run(ensure_standin("postgres", client), ["sh", "-c", f"psql postgresql://shop:wrong@{pg.name}/shopdb -c 'select 1' 2>&1; true"],
                                    network=net, remove=True, entrypoint=[])
        assert b"password authentication failed" in bad
    finally:
        pg.remove(force=True, v=True)


def test_postgres_standin_refuses_without_password(client, net):
    from aegis.images import ensure_standin
    pg = _run(client, ensure_standin("postgres", client), net, environment={"POSTGRES_USER": "x"})
    try:
        assert pg.wait(timeout=60)["StatusCode"] != 0
        assert "POSTGRES_PASSWORD" in pg.logs().decode()
    finally:
        pg.remove(force=True, v=True)


def test_redis_standin_reachable_from_other_containers(client, net):
    from aegis.images import ensure_standin
    tag = ensure_standin("redis", client)
    r = _run(client, tag, net, command=["redis-server", "--appendonly", "yes"], name=f"rd{uuid.uuid4().hex[:6]}")
    try:
        assert _until(lambda: _exec(r, ["redis-cli", "ping"])[1].strip() == "PONG")
        out = client.containers.run(tag, ["redis-cli", "-h", r.name, "ping"], network=net, remove=True, entrypoint=[])
        assert out.decode().strip() == "PONG"      # protected mode off, as in the official image
    finally:
        r.remove(force=True, v=True)


def test_traefik_standin_ping_healthcheck(client, net):
    from aegis.images import ensure_standin
    t = _run(client, ensure_standin("traefik", client), net, command=["--ping=true", "--entrypoints.web.address=:80"])
    try:
        assert _until(lambda: _exec(t, ["traefik", "healthcheck", "--ping"])[0] == 0)
    finally:
        t.remove(force=True, v=True)


def test_python_standin_like_slim(client):
    from aegis.images import ensure_standin
    out = client.containers.run(ensure_standin("python", client),
                                ["sh", "-c", "python --version && pip --version && python -m venv --without-pip /tmp/v && /tmp/v/bin/python -c 'import ssl'"],
                                remove=True)
    assert b"Python 3.11" in out and b"pip" in out
