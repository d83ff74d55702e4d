"""What a passkey costs at sign-in next to a password: a password login (no factor), the password
with a passkey as second step (login, options, verify) and a passkey alone (options, login), each
timed end to end, one at a time, on each database engine. A software authenticator (P-256, made
here with `cryptography`) answers the server's real options. Run by bench/passkeys.sh, which
builds the release server.

Arguments: the patient-auth binary, then NAME=DATABASE_URL pairs (each database fresh).
Environment: BENCH_SIGNINS (100) sign-ins of each kind per engine.
"""
import base64
import hashlib
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

BINARY = sys.argv[1]
ENGINES = [arg.split("=", 1) for arg in sys.argv[2:]]
SIGNINS = int(os.environ.get("BENCH_SIGNINS", "100"))
ORIGIN = "http://localhost:5173"
PASSWORD = "bench-passkey-passphrase"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cbor_head(major, value):
    if value < 24:
        return bytes([major << 5 | value])
    if value < 256:
        return bytes([major << 5 | 24, value])
    return bytes([major << 5 | 25]) + value.to_bytes(2, "big")


def cbor_int(value):
    return cbor_head(0, value) if value >= 0 else cbor_head(1, -1 - value)


def cbor_bytes(data):
    return cbor_head(2, len(data)) + data


def cbor_text(text):
    return cbor_head(3, len(text)) + text.encode()


class SoftPasskey:
    """One credential of a software authenticator that verifies its user."""

    def __init__(self, options):
        public_key = options["publicKey"]
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.user_handle = unb64(public_key["user"]["id"])
        self.rp_id = public_key["rp"]["id"]
        self.counter = 0

    def auth_data(self, flags):
        return hashlib.sha256(self.rp_id.encode()).digest() + bytes([flags]) + \
            self.counter.to_bytes(4, "big")

    def client_data(self, kind, options):
        return json.dumps({"type": kind, "challenge": options["publicKey"]["challenge"],
                           "origin": ORIGIN, "crossOrigin": False}).encode()

    def create(self, options):
        numbers = self.key.public_key().public_numbers()
        cose = cbor_head(5, 5) + cbor_int(1) + cbor_int(2) + cbor_int(3) + cbor_int(-7) + \
            cbor_int(-1) + cbor_int(1) + cbor_int(-2) + cbor_bytes(numbers.x.to_bytes(32, "big")) + \
            cbor_int(-3) + cbor_bytes(numbers.y.to_bytes(32, "big"))
        auth_data = self.auth_data(0x45) + bytes(16) + len(self.credential_id).to_bytes(2, "big") + \
            self.credential_id + cose
        attestation = cbor_head(5, 3) + cbor_text("fmt") + cbor_text("none") + \
            cbor_text("attStmt") + cbor_head(5, 0) + cbor_text("authData") + cbor_bytes(auth_data)
        return {"id": b64(self.credential_id), "rawId": b64(self.credential_id),
                "type": "public-key", "clientExtensionResults": {},
                "response": {"attestationObject": b64(attestation),
                             "clientDataJSON": b64(self.client_data("webauthn.create", options))}}

    def get(self, options):
        self.counter += 1
        auth_data = self.auth_data(0x05)
        client_data = self.client_data("webauthn.get", options)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                  ec.ECDSA(hashes.SHA256()))
        return {"id": b64(self.credential_id), "rawId": b64(self.credential_id),
                "type": "public-key", "clientExtensionResults": {},
                "response": {"authenticatorData": b64(auth_data), "clientDataJSON": b64(client_data),
                             "signature": b64(signature), "userHandle": b64(self.user_handle)}}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(conn, path, body=None, token=None, expect=200):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request("POST", path, body=json.dumps(body or {}), headers=headers)
    response = conn.getresponse()
    answer = json.loads(response.read() or b"{}")
    if response.status != expect:
        sys.exit(f"{path}: {response.status} {answer}")
    return answer


def timed(runs, work):
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def measure(name, url):
    port = free_port()
    outbox = tempfile.mkdtemp(prefix="pa-bench-outbox-")
    env = {"PATH": os.environ.get("PATH", ""), "DATABASE_URL": url, "PORT": str(port),
           "JWT_SECRET": "bench-passkeys-secret-0123456789abcdef0123",
           "RATE_LIMIT_PER_MINUTE": "0", "LOGIN_FAILURE_LIMIT": "0", "MFA_FAILURE_LIMIT": "0",
           "MAIL_OUTBOX_DIR": outbox, "RUST_LOG": "warn"}
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
        keys = {}
        for email, passwordless in [("plain@example.com", None), ("second@example.com", False),
                                    ("alone@example.com", True)]:
            token = call(conn, "/auth/register", {"name": "Bench", "email": email,
                                                   "password": PASSWORD}, expect=201)["token"]
            if passwordless is None:
                continue
            ceremony = call(conn, "/auth/passkeys/register/options",
                            {"password": PASSWORD, "passwordless": passwordless}, token)
            passkey = SoftPasskey(ceremony["options"])
            call(conn, "/auth/passkeys/register",
                 {"ceremony_token": ceremony["ceremony_token"],
                  "credential": passkey.create(ceremony["options"])}, token, expect=201)
            keys[email] = passkey

        def password_alone():
            call(conn, "/auth/login", {"email": "plain@example.com", "password": PASSWORD})

        def password_and_passkey():
            step = call(conn, "/auth/login", {"email": "second@example.com", "password": PASSWORD})
            ceremony = call(conn, "/auth/mfa/passkey/options", {"mfa_token": step["mfa_token"]})
            answer = keys["second@example.com"].get(ceremony["options"])
            call(conn, "/auth/mfa/verify", {"mfa_token": step["mfa_token"], "passkey": {
                "ceremony_token": ceremony["ceremony_token"], "credential": answer}})

        def passkey_alone():
            ceremony = call(conn, "/auth/passkeys/login/options")
            answer = keys["alone@example.com"].get(ceremony["options"])
            call(conn, "/auth/passkeys/login",
                 {"ceremony_token": ceremony["ceremony_token"], "credential": answer})

        for label, work in [("password", password_alone),
                            ("password + passkey", password_and_passkey),
                            ("passkey alone", passkey_alone)]:
            median, p95 = timed(SIGNINS, work)
            print(f"{name:10} {label:20} median {median:7.2f} ms   p95 {p95:7.2f} ms")
    finally:
        server.terminate()
        server.wait()


print(f"{SIGNINS} sign-ins of each kind, one at a time, end to end (client signing included)")
for engine_name, engine_url in ENGINES:
    measure(engine_name, engine_url)
