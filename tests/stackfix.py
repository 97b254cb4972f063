"""A small stand-in project for runtime tests: the same shape as a generated stack (app image built
from `${PYTHON_IMAGE}`, webserver with /health, worker, scheduler, PostgreSQL, Redis), stdlib only so
its image builds in seconds. Used until/alongside projects from `aegis.project.init`."""
from __future__ import annotations
import json, secrets
from pathlib import Path

APP = r'''
import json, os, socket, sys, time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def tcp(host, port, payload=None, expect=None):
    t0 = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            if payload:
                s.sendall(payload)
                data = s.recv(64)
                if expect and expect not in data: return {"status": "unhealthy", "message": repr(data[:40])}
        return {"status": "healthy", "message": "ok", "latency_ms": round((time.perf_counter() - t0) * 1000, 1)}
    except OSError as e:
        return {"status": "unhealthy", "message": str(e)}

def tree():
    checks = {"backend": lambda: {"status": "healthy", "message": "serving"}}
    if os.environ.get("REDIS_HOST"): checks["cache"] = lambda: tcp(os.environ["REDIS_HOST"], 6379, b"PING\r\n", b"PONG")
    if os.environ.get("PG_HOST"): checks["database"] = lambda: tcp(os.environ["PG_HOST"], 5432)
    with ThreadPoolExecutor(len(checks)) as ex:
        res = dict(zip(checks, ex.map(lambda f: f(), checks.values())))
    status = "healthy" if all(r["status"] == "healthy" for r in res.values()) else "unhealthy"
    return {"status": status, "message": "", "children": res}

class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path == "/health/live": body, code = {"status": "healthy"}, 200
        elif self.path in ("/health", "/health/ready", "/health/"):
            body = tree(); code = 200 if body["status"] == "healthy" else 503
        else: body, code = {"hello": os.environ.get("HOSTNAME")}, 200
        data = json.dumps(body).encode()
        self.send_response(code); self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data))); self.end_headers(); self.wfile.write(data)

if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))   # PID 1 ignores SIGTERM without a handler
    args = sys.argv[1:]
    role = args[0] if args else "serve"
    host = args[args.index("--host") + 1] if "--host" in args else "0.0.0.0"
    port = int(args[args.index("--port") + 1]) if "--port" in args else 8000
    if role == "serve":
        print(f"serving on {host}:{port}", flush=True)
        ThreadingHTTPServer((host, port), H).serve_forever()
    while True:
        print(f"{role} tick", flush=True); time.sleep(5)
'''

DOCKERFILE = '''ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}
WORKDIR /app
COPY app.py /app/app.py
CMD ["python", "app.py", "serve"]
'''

LIVE = ("import urllib.request,sys; "
        "sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=3).status == 200 else 1)")

def app_service(command, **extra):
    svc = {"build": {"context": ".", "args": {"PYTHON_IMAGE": "${PYTHON_IMAGE:-python:3.11-slim}"}},
           "image": "${APP_IMAGE:-demo-app:latest}", "command": command, "env_file": [".env"], "restart": "unless-stopped"}
    svc.update(extra)
    return json.loads(json.dumps(svc))   # no shared dicts: YAML would write them as anchors

def compose(name: str, postgres=True, redis=True, worker=True, scheduler=True, web_port="${WEB_PORT:-8000}") -> dict:
    env, deps = {}, {}
    services = {}
    if postgres:
        services["postgres"] = {"image": "${POSTGRES_IMAGE:-postgres:16-alpine}",
            "environment": {"POSTGRES_USER": "${POSTGRES_USER}", "POSTGRES_DB": "${POSTGRES_DB}", "POSTGRES_PASSWORD": "${POSTGRES_PASSWORD}"},
            "volumes": ["postgres-data:/var/lib/postgresql/data"],
            "healthcheck": {"test": ["CMD-SHELL", "pg_isready -U $${POSTGRES_USER} -d $${POSTGRES_DB}"], "interval": "5s", "timeout": "3s", "retries": 10},
            "restart": "unless-stopped"}
        env["PG_HOST"] = "postgres"; deps["postgres"] = {"condition": "service_healthy"}
    if redis:
        services["redis"] = {"image": "${REDIS_IMAGE:-redis:7-alpine}", "command": ["redis-server", "--appendonly", "yes"],
            "volumes": ["redis-data:/data"],
            "healthcheck": {"test": ["CMD", "redis-cli", "ping"], "interval": "5s", "timeout": "3s", "retries": 10},
            "restart": "unless-stopped"}
        env["REDIS_HOST"] = "redis"; deps["redis"] = {"condition": "service_healthy"}
    extra = {"environment": env} if env else {}
    if deps: extra["depends_on"] = deps
    services["webserver"] = app_service(["python", "app.py", "serve", "--host", "0.0.0.0", "--port", "8000"], ports=[f"{web_port}:8000"],
        healthcheck={"test": ["CMD", "python", "-c", LIVE], "interval": "10s", "timeout": "5s", "retries": 3, "start_period": "20s"}, **extra)
    if worker: services["worker"] = app_service(["python", "app.py", "worker"], **extra)
    if scheduler: services["scheduler"] = app_service(["python", "app.py", "scheduler"], **extra)
    data = {"name": name, "services": services}
    vols = [v for v, on in (("postgres-data", postgres), ("redis-data", redis)) if on]
    if vols: data["volumes"] = {v: {} for v in vols}
    return data

def write_stack(folder, name: str | None = None, **kw) -> Path:
    "Write the demo project into `folder` (created); returns the folder."
    import yaml
    folder = Path(folder); folder.mkdir(parents=True, exist_ok=True)
    name = name or folder.name
    (folder / "app.py").write_text(APP)
    (folder / "Dockerfile").write_text(DOCKERFILE)
    (folder / "docker-compose.yml").write_text(yaml.safe_dump(compose(name, **kw), sort_keys=False))
    (folder / ".env").write_text(f"WEB_PORT=0\nAPP_IMAGE={name}-app:latest\nPOSTGRES_USER={name}\nPOSTGRES_DB={name}\n"
                                 f"POSTGRES_PASSWORD={secrets.token_urlsafe(12)}\n")
    return folder
