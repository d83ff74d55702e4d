"""End to end: the real Flask backend creates its database and registers patients over HTTP, an
operator adds a doctor and prescriptions with SQL, then patient-auth starts on the same database
(the Flask .env's DATABASE_URL as it is), takes it over, and every patient logs in with the same
password and sees the profile. Run by .ci/flask-takeover on PostgreSQL.

Arguments: the patient-auth binary, the migration binary, the Flask peer's folder.
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

PATIENT_AUTH, MIGRATION, PEER = sys.argv[1:4]
PG = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qtA"]
DB = f"pa_flask_e2e_{uuid.uuid4().hex[:12]}"
FLASK_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB}"
SECRET = "flask-takeover-e2e-secret-0123456789abcdef"
PATIENTS = [
    {"name": "Ahmed Ali", "email": "ahmed@example.com", "password": "flask-e2e-one", "username": "patient1"},
    {"name": "Mona Ibrahim", "email": "Mona.Ibrahim@Example.com", "password": "flask-e2e-two"},
    {"name": "سارة محمود", "email": "sara@example.com", "password": "flask-e2e-three"},
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, token=None):
    request = urllib.request.Request(f"{base}{path}", method=method)
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def wait_until_up(base, process, name):
    for _ in range(150):
        if process.poll() is not None:
            sys.exit(f"{name} exited with {process.returncode} before it answered")
        try:
            urllib.request.urlopen(f"{base}/", timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers (404 for /)
        except OSError:
            time.sleep(0.2)
    sys.exit(f"{name} did not answer at {base}")


def sql(statement, database=DB):
    return subprocess.run(PG + ["-d", database, "-c", statement], check=True,
                          capture_output=True, text=True).stdout.strip()


def check(condition, message):
    if not condition:
        sys.exit(f"FAILED: {message}")
    print(f"ok: {message}")


def main():
    sql(f"CREATE DATABASE {DB}", database="test")
    processes = []
    try:
        run(processes)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=15)
        sql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", database="test")


def run(processes):
    # 1. The Flask backend, as operators run it: gunicorn, its own create_all on an empty database.
    port = free_port()
    env = dict(os.environ, DATABASE_URL=FLASK_URL, JWT_SECRET=SECRET, HOST="127.0.0.1",
               PORT=str(port), WORKERS="1")
    flask = subprocess.Popen([os.path.join(PEER, "serve.sh")], env=env,
                             stdout=subprocess.DEVNULL)
    processes.append(flask)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base, flask, "the Flask peer")
    for patient in PATIENTS:
        status, body = call(base, "POST", "/auth/register", patient)
        check(status == 201, f"Flask registered {patient['email']} ({status})")
        patient["id"] = body["patient"]["patient_id"]
    # 2. An operator's rows, by hand, as in SSMS.
    ahmed = PATIENTS[0]["id"]
    sql("INSERT INTO doctors (full_name, specialty) VALUES ('Dr. Sara Hassan', 'Cardiology')")
    sql("INSERT INTO caregivers (full_name, relationship) VALUES ('Omar Ali', 'son')")
    sql(f"UPDATE patients SET doctor_id = 1, caregiver_id = 1 WHERE patient_id = {ahmed}")
    sql(f"INSERT INTO prescriptions (patient_id, doctor_id, medication, start_date) VALUES "
        f"({ahmed}, 1, 'Metformin', '2026-10-01'), ({ahmed}, 1, 'Aspirin', '2026-11-01')")
    flask.terminate()
    flask.wait(timeout=15)

    # 3. patient-auth on the same database, with the Flask .env's values.
    env = {"PATH": os.environ.get("PATH", ""), "DATABASE_URL": FLASK_URL, "SECRET_KEY": SECRET,
           "LOG_FORMAT": "text", "RATE_LIMIT_PER_MINUTE": "0"}
    status_before = subprocess.run([MIGRATION, "status"], env=env, capture_output=True, text=True)
    check("to take over" in status_before.stdout, "`migration status` announces the take-over")
    port = free_port()
    # In its scratch folder: mail without SMTP_URL is written to ./outbox.
    server = subprocess.Popen([PATIENT_AUTH], env=dict(env, PORT=str(port)),
                              cwd=os.path.dirname(PATIENT_AUTH), stdout=subprocess.DEVNULL)
    processes.append(server)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base, server, "patient-auth")
    for patient in PATIENTS:
        status, body = call(base, "POST", "/auth/login",
                            {"email": patient["email"], "password": patient["password"]})
        check(status == 200, f"{patient['email']} logs in with the Flask password ({status})")
        stored = sql(f"SELECT password_hash FROM patients WHERE patient_id = {patient['id']}")
        check(stored.startswith("$argon2id$"), f"{patient['email']}: bcrypt upgraded to argon2id")
        status, me = call(base, "GET", "/auth/me", token=body["token"])
        check(status == 200 and me["patient_id"] == patient["id"], "/auth/me answers")
        check(me["name"] == patient["name"], f"name kept: {me['name']}")
        check(me["email_verified"] is False, f"{patient['email']}: a Flask account starts unverified")
    status, body = call(base, "POST", "/auth/login",
                        {"email": "ahmed@example.com", "password": "flask-e2e-one"})
    status, me = call(base, "GET", "/auth/me", token=body["token"])
    check(me["doctor"]["name"] == "Dr. Sara Hassan" and me["caregiver"]["name"] == "Omar Ali",
          "the operator's doctor and caregiver are shown")
    check([p["medication"] for p in me["prescriptions"]] == ["Aspirin", "Metformin"],
          "the operator's prescriptions, newest first")
    status, body = call(base, "POST", "/auth/register",
                        {"name": "New", "email": "new@example.com", "password": "a-new-patient-pass"})
    check(status == 201 and body["patient"]["patient_id"] == max(p["id"] for p in PATIENTS) + 1,
          "a new patient registers and ids continue")
    status_after = subprocess.run([MIGRATION, "status"], env=env, capture_output=True, text=True)
    check("taken over: the tables the flask backend created" in status_after.stdout,
          "`migration status` records the take-over")
    print("flask take-over end to end: passed")


if __name__ == "__main__":
    main()
