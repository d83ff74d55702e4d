"""Password-reset requests for an address with an account and for addresses without one, timed
one at a time on each database engine: with the padding every request gets
(PASSWORD_RESET_REQUEST_MS, 250 by default) and without it (0), which shows how much of the padding
the work for a known address uses. Run by bench/recovery.sh, which builds the release server.

Arguments: the patient-auth binary, then NAME=DATABASE_URL pairs (each database fresh).
Environment: BENCH_RESETS (100) requests of each kind per engine and padding.
"""
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

BINARY = sys.argv[1]
ENGINES = [arg.split("=", 1) for arg in sys.argv[2:]]
RESETS = int(os.environ.get("BENCH_RESETS", "100"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(conn, path, body):
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, response.read()


def measure(name, url, padding_ms, first):
    port = free_port()
    outbox = tempfile.mkdtemp(prefix="pa-bench-outbox-")
    env = {"PATH": os.environ.get("PATH", ""), "DATABASE_URL": url, "PORT": str(port),
           "JWT_SECRET": "bench-recovery-secret-0123456789abcdef0123",
           "RATE_LIMIT_PER_MINUTE": "0", "LOGIN_FAILURE_LIMIT": "0", "PASSWORD_RESET_LIMIT": "0",
           "PASSWORD_RESET_REQUEST_MS": str(padding_ms), "MAIL_OUTBOX_DIR": outbox,
           "RUST_LOG": "warn"}
    server = subprocess.Popen([BINARY], env=env, stdout=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", "/health")
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit(f"{name}: the server did not start")
        if first:
            status, body = request(conn, "/auth/register", {
                "name": "Bench", "email": "known@example.com",
                "password": "bench-recovery-passphrase"})
            if status != 201:
                sys.exit(f"{name}: register answered {status}: {body}")
        known, unknown, bodies = [], [], set()
        for i in range(RESETS + 10):
            for email, samples in (("known@example.com", known),
                                   (f"unknown{padding_ms}-{i}@example.com", unknown)):
                start = time.perf_counter()
                status, body = request(conn, "/auth/password-reset/request", {"email": email})
                elapsed = (time.perf_counter() - start) * 1000
                if status != 202:
                    sys.exit(f"{name}: reset request answered {status}: {body}")
                bodies.add(body)
                if i >= 10:  # the first ten of each warm the pool and the caches
                    samples.append(elapsed)
        if len(bodies) != 1:
            sys.exit(f"{name}: the answers differ: {bodies}")
        return summary(known), summary(unknown)
    finally:
        server.terminate()
        server.wait(timeout=20)


def summary(samples):
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main():
    print(f"{'engine':<11} {'padding':>8} {'known median':>13} {'p95':>9} {'unknown median':>15} "
          f"{'p95':>9} {'difference':>11}")
    for name, url in ENGINES:
        for first, padding in ((True, 0), (False, 250)):
            (k_med, k_p95), (u_med, u_p95) = measure(name, url, padding, first)
            difference = abs(k_med - u_med) / max(k_med, u_med) * 100
            print(f"{name:<11} {padding:>5} ms {k_med:>10.2f} ms {k_p95:>6.2f} ms "
                  f"{u_med:>12.2f} ms {u_p95:>6.2f} ms {difference:>10.2f}%")
    print(f"({RESETS} requests of each kind per row, alternating, one connection, release build; "
          "the difference is of the medians)")


if __name__ == "__main__":
    main()
