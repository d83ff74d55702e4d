"""Runs one T-SQL statement with autocommit on the server of an mssql:// URL (bench/engines.sh
creates and drops its database with it). Needs python-tds: bench/engines.sh makes a virtualenv."""
import sys
import urllib.parse

import pytds

url = urllib.parse.urlsplit(sys.argv[1])
options = dict(urllib.parse.parse_qsl(url.query))
with pytds.connect(url.hostname, port=url.port or 1433, user=urllib.parse.unquote(url.username),
                   password=urllib.parse.unquote(url.password or ""),
                   database=url.path.lstrip("/") or "master", autocommit=True) as conn:
    with conn.cursor() as cursor:
        cursor.execute(sys.argv[2])
