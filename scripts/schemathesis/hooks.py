"""Schemathesis hooks for `kopilot serve` (loaded by scripts/schemathesis-server).

`POST /webhook` answers only signed requests: each one generated is signed here, as a sender
would sign it, with the shared secret from KOPILOT_SCHEMATHESIS_WEBHOOK_SECRET: the body as
sent, a fresh timestamp, `sha256=<hex of HMAC-SHA256("{timestamp}.{body}")>`. The same body
signed twice in one second is a replay the server refuses (409, documented).
"""

import hashlib
import hmac
import json
import os
import time

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.path != "/webhook" or case.method.upper() != "POST":
        return
    secret = os.environ.get("KOPILOT_SCHEMATHESIS_WEBHOOK_SECRET", "").encode()
    if not secret:
        return
    try:
        body = json.dumps(case.body, separators=(",", ":"), ensure_ascii=False).encode()
    except (TypeError, ValueError):
        # Not JSON (a negative case): sent unsigned, refused with 401.
        return
    timestamp = str(int(time.time()))
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = dict(case.headers or {})
    headers["X-Kopilot-Signature"] = f"sha256={digest}"
    headers["X-Kopilot-Timestamp"] = timestamp
    headers["Content-Type"] = "application/json"
    case.headers = headers
    kwargs["data"] = body
