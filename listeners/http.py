"""HTTP: token URLs (token in the host name or the path) and telephony provider webhooks.

Token URLs answer with something unremarkable: a 1x1 GIF, or a plain page to a browser.
Webhooks: Twilio (form POST signed with X-Twilio-Signature, answered with empty TwiML)
and a generic JSON format signed with HMAC-SHA256 in X-Canary-Signature. A request with
a bad signature is refused and logged, never recorded as a contact.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import logging
import socket
import threading
import urllib.parse

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from listeners.contact import host_port, make_contact
from listeners.names import MAX_NAME, candidates, labels_of, plain

log = logging.getLogger("canary.listeners.http")

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
PAGE = "<!doctype html><html><head><title>Loading</title></head><body></body></html>"
JSON_SIGNATURE_HEADER = "X-Canary-Signature"
MAX_HEADER_VALUE = 2048
MAX_BODY_TEXT = 4096
# Of a URL path, this much is looked at for a token (the whole path is still stored, cut at
# MAX_HEADER_VALUE): identifiers sit in the first few segments of a short URL.
MAX_URL_PATH = 2048
MAX_PATH_SEGMENTS = 16


# -- pure parts: request facts -> candidates / signatures / contacts -----------------------
def url_candidates(host: str, path: str, zones: list[str]) -> list[str]:
    """Identifier values a request may carry: its URL, names in its host, labels in its path."""
    host = host.lower().rsplit(":", 1)[0] if not host.startswith("[") else host.lower()
    if len(host) > MAX_NAME:
        host = ""   # not a DNS name (at most 253 bytes): no identifier can be in it, nor in its URL
    path = (path or "/")[:MAX_URL_PATH]
    found = [f"http://{host}{path}".lower(), f"https://{host}{path}".lower()]
    if path != "/":
        found += [f"http://{host}/", f"https://{host}/"]
    try:
        host_labels = labels_of(host)
    except UnicodeEncodeError:
        host_labels = ()
    for zone in zones:
        zone_labels = labels_of(zone)
        if len(host_labels) > len(zone_labels) and host_labels[-len(zone_labels):] == zone_labels:
            found += candidates(host_labels, zone_labels)
    for segment in path.lower().split("/")[:MAX_PATH_SEGMENTS]:
        segment = segment.split(".")[0]  # /abc123.gif
        if plain(segment.encode("ascii", "replace")):
            found += [f"{segment}.{zone}" for zone in zones]
    return list(dict.fromkeys(found))


def twilio_signature(auth_token: str, url: str, params: dict[str, list[str]]) -> str:
    """X-Twilio-Signature as Twilio documents it: base64(HMAC-SHA1(token, URL + sorted name+value pairs))."""
    text = url
    for name in sorted(params):
        for value in sorted(params[name]):
            text += name + value
    digest = hmac.new(auth_token.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def twilio_signature_valid(auth_token: str, url: str, params: dict[str, list[str]], given: str) -> bool:
    """Whether `given` signs this request, checked as Twilio's own libraries do: the URL with and without its port.

    Twilio's side is inconsistent about writing the standard port (":443") into the URL it
    signs, so its helper libraries accept either form; so do we, or real SMS would be refused.
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    if parts.port is not None:
        other = host[:host.rindex(":")]
    else:
        other = f"{host}:{443 if parts.scheme == 'https' else 80}"
    urls = [url, urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc[:len(parts.netloc) - len(host)] + other))]
    return any(_same(given, twilio_signature(auth_token, candidate, params)) for candidate in urls)


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison that takes any header text (compare_digest refuses non-ASCII str)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("ascii"))


def json_signature(secret: str, body: bytes) -> str:
    """X-Canary-Signature of the generic JSON webhook: 'sha256=' + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def phone_contact(channel: str, caller: str, called: str, body: str | None, details: dict, resolve) -> dict | None:
    """The contact an SMS or call to `called` makes, or None when the number is not one of ours."""
    from canary.generation.phones import normalise_phone
    number = normalise_phone(called or "")
    resolved = resolve([number]) if number else None
    if resolved is None:
        return None
    facts = {"from": caller, "to": called, **details}
    if body is not None:
        facts["body"] = body[:MAX_BODY_TEXT]
    return make_contact(channel, resolved, caller or None, facts)


# -- the app: settings and recorder in app.extensions, one small function per route ---------
@dataclasses.dataclass(frozen=True)
class _Listener:
    zones: list[str]
    trusted_proxy: str
    hooks: dict
    recorder: object


def create_app(settings, recorder) -> Flask:
    """The HTTP listener as a flask app; `settings` is a canary Settings."""
    app = Flask("canary.listeners.http")
    app.config["MAX_CONTENT_LENGTH"] = 256 * 1024
    app.extensions["canary_http"] = _Listener(settings.zones, settings["http"]["trusted_proxy"],
                                              settings["webhooks"], recorder)
    app.add_url_rule("/hooks/twilio/<kind>", view_func=twilio_hook, methods=["POST"])
    app.add_url_rule("/hooks/json", view_func=json_hook, methods=["POST"])
    # Every other request is a possible token URL, whatever its method, and whatever its
    # path holds: werkzeug's <path> converter does not match a newline, so the catch-all
    # is the error handler of "no route" and "not this method", not a route.
    app.register_error_handler(NotFound, token_url)
    app.register_error_handler(MethodNotAllowed, token_url)
    return app


def _listener() -> _Listener:
    return current_app.extensions["canary_http"]


def client_address() -> str:
    """The request's source; the proxy's right-most X-Forwarded-For entry when it comes through the trusted proxy."""
    address = request.remote_addr or "unknown"
    forwarded = request.headers.get("X-Forwarded-For", "")
    trusted_proxy = _listener().trusted_proxy
    if trusted_proxy and address == trusted_proxy and forwarded:
        # The proxy appends the address it saw: the right-most entry is the only one it vouches for.
        address = forwarded.split(",")[-1].strip() or address
    port = request.environ.get("REMOTE_PORT")
    if port and address == request.remote_addr:
        return host_port(address, port)
    return address


def _public_url() -> str:
    """The URL the provider signed: the configured public base, since a proxy rewrites the host."""
    base = _listener().hooks["public_url"].rstrip("/")
    if not base:
        return request.url
    query = request.query_string.decode("latin-1")
    return base + request.path + (f"?{query}" if query else "")


def _refuse(reason: str) -> Response:
    log.warning("webhook %s refused from %s: %s", request.path, client_address(), reason)
    _listener().recorder.count_unknown("http", "bad-signature")
    return Response("Forbidden\n", 403, mimetype="text/plain")


def _record_phone(channel: str, contact: dict | None) -> None:
    recorder = _listener().recorder
    if contact is None:
        recorder.count_unknown(channel, "number")
    else:
        recorder.record(contact)


def twilio_hook(kind):
    """Twilio's SMS and voice webhooks: a signed form POST, answered with empty TwiML."""
    if kind not in ("sms", "voice"):
        return Response("Not Found\n", 404, mimetype="text/plain")
    token = _listener().hooks["twilio_auth_token"]
    params = request.form.to_dict(flat=False)
    given = request.headers.get("X-Twilio-Signature", "")
    if not token or not twilio_signature_valid(token, _public_url(), params, given):
        return _refuse("bad X-Twilio-Signature")
    form = request.form
    channel = "sms" if kind == "sms" else "call"
    details = {key: form[key] for key in ("MessageSid", "CallSid", "AccountSid", "CallStatus", "Direction",
                                         "FromCountry", "NumMedia") if key in form}
    details["provider"] = "twilio"
    details["webhook_from"] = client_address()
    _record_phone(channel, phone_contact(channel, form.get("From", ""), form.get("To", ""),
                                         form.get("Body") if channel == "sms" else None, details,
                                         _listener().recorder.resolve))
    return Response(EMPTY_TWIML, 200, mimetype="text/xml")


def json_hook():
    """The generic JSON webhook: {channel, from, to, body?, time?} signed with HMAC-SHA256."""
    secret = _listener().hooks["hmac_secret"]
    body = request.get_data(cache=True)
    given = request.headers.get(JSON_SIGNATURE_HEADER, "")
    if not secret or not _same(given, json_signature(secret, body)):
        return _refuse(f"bad {JSON_SIGNATURE_HEADER}")
    try:
        event = json.loads(body)
        channel = event["channel"]
        if channel not in ("sms", "call") or not isinstance(event.get("to"), str):
            raise ValueError
    except (ValueError, KeyError, TypeError, RecursionError):   # RecursionError: nested too deeply
        return Response('{"error": "expected {channel: sms|call, from, to, body?, time?}"}\n', 400,
                        mimetype="application/json")
    details = {"provider": "json", "provider_time": str(event.get("time", "")) or None,
               "webhook_from": client_address()}
    _record_phone(channel, phone_contact(channel, str(event.get("from", "")), event["to"],
                                         str(event["body"]) if event.get("body") is not None else None, details,
                                         _listener().recorder.resolve))
    return Response('{"ok": true}\n', 200, mimetype="application/json")


def token_url(_error):
    """Any other request: a contact when its host or path carries an identifier, else a plain 404."""
    recorder = _listener().recorder
    resolved = recorder.resolve(url_candidates(request.host, request.path, _listener().zones))
    if resolved is None:
        recorder.count_unknown("http", "path")
        return Response("Not Found\n", 404, mimetype="text/plain")
    headers = {name: value[:MAX_HEADER_VALUE] for name, value in request.headers.items()}
    details = {"method": request.method, "host": request.host[:MAX_HEADER_VALUE],
               "path": request.path[:MAX_HEADER_VALUE],
               "query": request.query_string.decode("latin-1")[:MAX_HEADER_VALUE],
               "user_agent": request.headers.get("User-Agent", "")[:MAX_HEADER_VALUE],
               "headers": headers, "peer": request.remote_addr, "scheme": request.scheme}
    recorder.record(make_contact("http", resolved, client_address(), details))
    nocache = {"Cache-Control": "no-store, max-age=0"}
    if "text/html" in request.headers.get("Accept", ""):
        return Response(PAGE, 200, mimetype="text/html", headers=nocache)
    return Response(GIF, 200, mimetype="image/gif", headers=nocache)


class _BoundedThreadedServer(ThreadedWSGIServer):
    """werkzeug's thread-per-connection server, with a bound on the threads: a flood of
    idle connections costs at most `max_connections` threads; beyond, new ones are closed."""

    def __init__(self, *args, max_connections: int, **kwargs):
        super().__init__(*args, **kwargs)
        self._slots = threading.BoundedSemaphore(max_connections)

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class HttpServer:
    """The HTTP listener: werkzeug's threaded server around `create_app`, in a thread."""

    def __init__(self, settings, recorder, host: str = "127.0.0.1", port: int = 8080, idle_seconds: float = 30,
                 max_connections: int = 512):
        self.app = create_app(settings, recorder)
        # A socket timeout per connection: a client that connects and says nothing
        # (slowloris) holds its thread for `idle_seconds` at most.
        # No "Server: Werkzeug/... Python/..." either: a tracking pixel served by a Python
        # development server is exactly the oddity a careful thief looks for.
        handler = type("IdleLimitedHandler", (WSGIRequestHandler,),
                       {"timeout": idle_seconds, "version_string": lambda self: "httpd"})
        # We bind the socket ourselves: on a busy port werkzeug would print and sys.exit(),
        # where we want an OSError that `canary serve` reports in one line.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.create_server((host, port), family=family) as listening:
            self.server = _BoundedThreadedServer(host, port, self.app, handler, fd=listening.fileno(),
                                                 max_connections=max_connections)
        self.port = self.server.socket.getsockname()[1]
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(cls, settings, recorder, host: str, port: int) -> "HttpServer":
        return cls(settings, recorder, host, port, idle_seconds=float(settings["http"]["idle_seconds"]))

    def start(self) -> "HttpServer":
        # A short poll interval: stop() returns quickly (shutdown waits for the next poll).
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), name="http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join()
