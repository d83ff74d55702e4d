"""One patient-auth request at a time, on each database engine: the latency of GET /auth/me and of
one login, so an operator can see what their engine costs per request (not a load test: bench/run.sh
is that). Run by bench/engines.sh, which builds the release server and says how to name engines.

Arguments: the patient-auth binary, then NAME=DATABASE_URL pairs (each database fresh).
Environment: BENCH_ME (2000) requests of /auth/me and BENCH_LOGINS (50) logins per engine.
"""
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time

BINARY = sys.argv[1]
ENGINES = [arg.split("=", 1) for arg in sys.argv[2:]]
ME_REQUESTS = int(os.environ.get("BENCH_ME", "2000"))
LOGINS = int(os.environ.get("BENCH_LOGINS", "50"))
PASSWORD = "bench-engines-passphrase"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(conn, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    return response.status, json.loads(payload or b"null")


def timed(conn, count, method, path, body=None, token=None):
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        status, _ = request(conn, method, path, body, token)
        samples.append((time.perf_counter() - start) * 1000)
        if status != 200:
            sys.exit(f"{method} {path} answered {status}")
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def measure(name, url):
    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "DATABASE_URL": url, "PORT": str(port),
           "JWT_SECRET": "bench-engines-secret-0123456789abcdef0123", "RATE_LIMIT_PER_MINUTE": "0",
           "LOGIN_FAILURE_LIMIT": "0", "RUST_LOG": "warn"}
    server = subprocess.Popen([BINARY], env=env, stdout=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                request(conn, "GET", "/health")
                break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit(f"{name}: the server did not start")
        status, body = request(conn, "POST", "/auth/register",
                               {"name": "Bench", "email": "bench@example.com", "password": PASSWORD})
        if status != 201:
            sys.exit(f"{name}: register answered {status}: {body}")
        token = body["token"]
        timed(conn, 50, "GET", "/auth/me", token=token)  # warm the pool and the caches
        me = timed(conn, ME_REQUESTS, "GET", "/auth/me", token=token)
        login = timed(conn, LOGINS, "POST", "/auth/login",
                      {"email": "bench@example.com", "password": PASSWORD})
        return me, login
    finally:
        server.terminate()
        server.wait(timeout=20)


def main():
    print(f"{'engine':<12} {'/auth/me median':>16} {'p99':>9} {'login median':>14} {'p99':>9}")
    for name, url in ENGINES:
        (me_median, me_p99), (login_median, login_p99) = measure(name, url)
        print(f"{name:<12} {me_median:>13.2f} ms {me_p99:>6.2f} ms {login_median:>11.2f} ms "
              f"{login_p99:>6.2f} ms")
    print(f"({ME_REQUESTS} sequential /auth/me and {LOGINS} logins per engine, one connection, "
          "release build)")


if __name__ == "__main__":
    main()
