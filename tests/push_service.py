"""A push service for the end-to-end tests that no one can fool: it plays the browser (it makes
each subscription's key pair and auth secret, as `pushManager.subscribe` does) and the push
service (RFC 8030). Every push must carry a VAPID token (RFC 8292) whose ES256 signature checks
against the server's `GET /push/vapid` key, whose `aud` is this service's origin and whose `exp`
is in the next 24 hours; its body must decrypt (RFC 8291, aes128gcm) with the subscription's
private key. Only then is it accepted and recorded. Written with `cryptography` and `http_ece`,
not with the crates the server uses, so that the two sides are checked against each other.

Usage: push_service.py CONFAB_URL. Prints `listening <port>` once ready. Control endpoints:
  POST /subscriptions {"answers": [[status, retry_after_or_null], ...]}  -> a subscription
       (endpoint and keys, as PushSubscription.toJSON()); the answers are given to its first
       pushes in turn (e.g. [[429, 1]] then 201 for the rest; [[410, null]] for a gone one).
  POST /hooks  -> {"url": ...}: a webhook target that records the JSON it receives.
  GET /received -> every accepted push and webhook call, in arrival order.
  GET /rejected -> every refused one, with why.
"""

import base64
import json
import sys
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


LOCK = threading.Lock()
SUBSCRIPTIONS = {}
HOOKS = set()
RECEIVED = []
REJECTED = []
VAPID_PUBLIC = None
ORIGIN = None


def vapid_problem(header):
    """Why a VAPID Authorization header does not hold, or None."""
    if not header or not header.startswith("vapid "):
        return "no vapid authorization"
    params = {}
    for part in header[len("vapid "):].split(","):
        name, _, value = part.strip().partition("=")
        params[name] = value
    if params.get("k") != VAPID_PUBLIC:
        return "k is not the server's VAPID key"
    token = params.get("t", "")
    pieces = token.split(".")
    if len(pieces) != 3:
        return "t is not a JWT"
    head = json.loads(b64url_decode(pieces[0]))
    if head.get("alg") != "ES256":
        return "alg is not ES256"
    signature = b64url_decode(pieces[2])
    if len(signature) != 64:
        return "not a raw ES256 signature"
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(VAPID_PUBLIC))
    try:
        key.verify(der, (pieces[0] + "." + pieces[1]).encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return "bad signature"
    claims = json.loads(b64url_decode(pieces[1]))
    if claims.get("aud") != ORIGIN:
        return "aud %r is not %r" % (claims.get("aud"), ORIGIN)
    now = time.time()
    if not isinstance(claims.get("exp"), int) or not now < claims["exp"] <= now + 24 * 3600:
        return "exp is not within the next 24 hours"
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
        return "sub is not a contact"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=None, headers=()):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        return self.rfile.read(int(self.headers.get("content-length", "0")))

    def do_GET(self):
        with LOCK:
            if self.path == "/received":
                return self.answer(200, RECEIVED)
            if self.path == "/rejected":
                return self.answer(200, REJECTED)
        self.answer(404)

    def do_POST(self):
        arrived = time.time()
        body = self.body()
        if self.path == "/subscriptions":
            spec = json.loads(body or b"{}")
            private = ec.generate_private_key(ec.SECP256R1())
            public = private.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
            auth = uuid.uuid4().bytes
            sid = uuid.uuid4().hex
            with LOCK:
                SUBSCRIPTIONS[sid] = {"private": private, "auth": auth, "answers": list(spec.get("answers", []))}
            return self.answer(
                201, {"endpoint": "%s/push/%s" % (ORIGIN, sid), "keys": {"p256dh": b64url(public), "auth": b64url(auth)}}
            )
        if self.path == "/hooks":
            hid = uuid.uuid4().hex
            with LOCK:
                HOOKS.add(hid)
            return self.answer(201, {"url": "%s/hook/%s" % (ORIGIN, hid)})
        if self.path.startswith("/hook/"):
            hid = self.path[len("/hook/"):]
            problem = None if hid in HOOKS else "no such hook"
            problem = problem or vapid_problem(self.headers.get("authorization"))
            with LOCK:
                if problem:
                    REJECTED.append({"hook": hid, "why": problem})
                    return self.answer(403, {"error": problem})
                RECEIVED.append({"hook": hid, "at": arrived, "payload": json.loads(body)})
            return self.answer(204)
        if self.path.startswith("/push/"):
            sid = self.path[len("/push/"):]
            with LOCK:
                subscription = SUBSCRIPTIONS.get(sid)
            problem = None if subscription else "no such subscription"
            problem = problem or vapid_problem(self.headers.get("authorization"))
            if not problem and self.headers.get("content-encoding") != "aes128gcm":
                problem = "content-encoding is not aes128gcm"
            if not problem and not self.headers.get("ttl"):
                problem = "no TTL"
            payload = None
            if not problem:
                try:
                    plain = http_ece.decrypt(
                        body, private_key=subscription["private"], auth_secret=subscription["auth"], version="aes128gcm"
                    )
                    payload = json.loads(plain)
                except Exception as error:  # a body that does not decrypt or parse
                    problem = "cannot decrypt: %r" % (error,)
            with LOCK:
                if problem:
                    REJECTED.append({"subscription": sid, "why": problem})
                    return self.answer(400, {"error": problem})
                answers = subscription["answers"]
                status, retry_after = answers.pop(0) if answers else (201, None)
                RECEIVED.append(
                    {
                        "subscription": sid,
                        "at": arrived,
                        "status": status,
                        "topic": self.headers.get("topic"),
                        "urgency": self.headers.get("urgency"),
                        "payload": payload,
                    }
                )
            headers = [("retry-after", str(retry_after))] if retry_after is not None else []
            if status == 201:
                headers.append(("location", "%s/message/%s" % (ORIGIN, uuid.uuid4().hex)))
            return self.answer(status, None, headers)
        self.answer(404)


def main():
    global VAPID_PUBLIC, ORIGIN
    confab = sys.argv[1]
    with urllib.request.urlopen(confab + "/push/vapid") as reply:
        VAPID_PUBLIC = json.load(reply)["publicKey"]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ORIGIN = "http://127.0.0.1:%d" % server.server_address[1]
    print("listening %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
