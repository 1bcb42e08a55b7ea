"""The browser editor's HTTP server (standard library only).

Routes (JSON in and out; images travel as PNG data URLs, nothing is written
to disk):

  GET  /                      the page (static/index.html)
  GET  /static/app.js|app.css the page's script and style (a fixed list)
  GET  /api/info              sizes, methods, defaults, limits, examples
  POST /api/session           {} -> {"sid"}: a new tab
  POST /api/example           {sid, name}
  POST /api/upload            {sid, data, fit, label, name}
  POST /api/generate          {sid, label, seed}
  POST /api/edit              {sid, paint, mask, method, strength,
                               num_samples, seed}
  POST /api/outpaint          {sid, sides, num_samples, seed}
  POST /api/keep              {sid, index}
  POST /api/undo | /api/redo  {sid}
  GET  /api/download?sid=S&at=source|model

A request the user can fix answers 400 with {"error": message} and logs one
line; a fault answers 500 and logs its traceback. Tabs are kept in memory,
at most `max_tabs` (the least recently used one is dropped) and for at most
`idle_s` seconds unused. Model computations run one at a time; at most
`max_queue` requests wait for one (then 503).
"""

from __future__ import annotations

import collections
import http.server
import json
import logging
import os
import re
import secrets
import threading
import time
import urllib.parse
from typing import Any, Callable

from maskgit_edit.app import core

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
_FILES = {"/": ("index.html", "text/html; charset=utf-8"),
          "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
          "/static/app.css": ("app.css", "text/css; charset=utf-8")}
_LOG = logging.getLogger("maskgit_edit.app")
# A JSON request carries at most one upload (base64: 4/3 of the bytes) or
# two canvas layers.
MAX_BODY = core.MAX_UPLOAD_BYTES * 3 // 2 + 65536


class Busy(Exception):
  """Too many requests are waiting for the model."""


class Tabs:
  """Tabs by id: bounded in number and idle time (see module docstring)."""

  def __init__(self, max_tabs: int = 32, idle_s: float = 7200.0):
    self.max_tabs, self.idle_s = int(max_tabs), float(idle_s)
    self._tabs: collections.OrderedDict[str, core.Tab | None] = (
        collections.OrderedDict())
    self._lock = threading.Lock()

  def new(self) -> str:
    sid = secrets.token_urlsafe(12)
    with self._lock:
      self._expire()
      self._tabs[sid] = None
      while len(self._tabs) > self.max_tabs:
        self._tabs.popitem(last=False)
    return sid

  def _expire(self) -> None:
    now = time.monotonic()
    for sid in [s for s, t in self._tabs.items()
                if t is not None and now - t.used > self.idle_s]:
      del self._tabs[sid]

  def known(self, sid: Any) -> bool:
    with self._lock:
      return isinstance(sid, str) and sid in self._tabs

  def get(self, sid: Any) -> core.Tab:
    with self._lock:
      if not isinstance(sid, str) or sid not in self._tabs:
        raise core.UserError("This page's session has expired: reload the "
                             "page.")
      tab = self._tabs[sid]
      self._tabs.move_to_end(sid)
      if tab is None:
        raise core.UserError("Load, upload or generate an image first.")
      tab.used = time.monotonic()
      return tab

  def put(self, sid: str, tab: core.Tab) -> None:
    with self._lock:
      if sid not in self._tabs:
        raise core.UserError("This page's session has expired: reload the "
                             "page.")
      self._tabs[sid] = tab
      self._tabs.move_to_end(sid)

  def __len__(self) -> int:
    return len(self._tabs)


class Server(http.server.ThreadingHTTPServer):
  """The editor's server: `App` + tabs behind the routes above."""

  daemon_threads = True

  def __init__(self, app: core.App, host: str = "127.0.0.1",
               port: int = 7860, max_queue: int = 32, max_tabs: int = 32):
    super().__init__((host, port), _Handler)
    self.app = app
    self.tabs = Tabs(max_tabs)
    self.max_queue = int(max_queue)
    self._waiting = 0
    self._wait_lock = threading.Lock()

  @property
  def url(self) -> str:
    host, port = self.server_address[:2]
    return f"http://{host}:{port}"

  def start(self) -> threading.Thread:
    """Serves in a daemon thread (tests); returns it."""
    t = threading.Thread(target=self.serve_forever, daemon=True)
    t.start()
    return t

  def queued(self, fn: Callable[[], Any]) -> Any:
    """Runs `fn` unless `max_queue` requests are waiting already."""
    with self._wait_lock:
      if self._waiting >= self.max_queue:
        raise Busy()
      self._waiting += 1
    try:
      return fn()
    finally:
      with self._wait_lock:
        self._waiting -= 1

  # ----------------------------------------------------------- actions
  def api(self, route: str, body: dict) -> dict:
    """One POST route -> its JSON answer (raises UserError/Busy)."""
    app, tabs = self.app, self.tabs
    if route == "session":
      return {"sid": tabs.new()}
    sid = body.get("sid")
    if route in ("example", "upload", "generate"):
      if not tabs.known(sid):
        tabs.get(sid)  # Raises the expired-session message.
      if route == "example":
        tab = self.queued(lambda: app.load_example(str(body.get("name"))))
        status = f"Loaded example {tab.name} (class {tab.session.label})."
      elif route == "upload":
        tab = self.queued(lambda: app.upload(
            body.get("data"), str(body.get("fit", "pad")),
            body.get("label", 0), str(body.get("name", ""))))
        h, w = tab.source.shape[:2]
        how = "" if w == h else {"crop": ", cropped", "pad": ", padded",
                                 "stretch": ", stretched",
                                 "keep": ""}[tab.fit.mode]
        at = (f"in {app.size}x{app.size} windows" if tab.fit.mode == "keep"
              and (w, h) != (app.size, app.size) else
              f"at {app.size}x{app.size}")
        status = f"Uploaded {tab.name} ({w}x{h}{how}; edited {at})."
      else:
        tab = self.queued(lambda: app.generate(body.get("label", 0),
                                               body.get("seed", 0)))
        status = f"Generated {tab.name}."
      tabs.put(sid, tab)
      return app.view(tab, status)
    tab = tabs.get(sid)
    with tab.lock:
      if route == "edit":
        return self.queued(lambda: app.edit(
            tab, body.get("paint"), body.get("mask"), body.get("method"),
            body.get("strength"), body.get("num_samples"), body.get("seed")))
      if route == "outpaint":
        return self.queued(lambda: app.outpaint(
            tab, body.get("sides"), body.get("num_samples"),
            body.get("seed")))
      if route == "keep":
        return app.keep(tab, body.get("index"))
      if route == "undo":
        return app.undo(tab)
      if route == "redo":
        return app.redo(tab)
    raise KeyError(route)


class _Handler(http.server.BaseHTTPRequestHandler):
  server: Server
  protocol_version = "HTTP/1.1"

  def log_message(self, format, *args):  # pylint: disable=redefined-builtin
    _LOG.debug("%s %s", self.address_string(), format % args)

  def _send(self, code: int, body: bytes, ctype: str,
            extra: dict | None = None) -> None:
    self.send_response(code)
    self.send_header("Content-Type", ctype)
    self.send_header("Content-Length", str(len(body)))
    self.send_header("Cache-Control", "no-store")
    self.send_header("X-Content-Type-Options", "nosniff")
    for k, v in (extra or {}).items():
      self.send_header(k, v)
    self.end_headers()
    if self.command != "HEAD":
      self.wfile.write(body)

  def _json(self, code: int, obj: dict) -> None:
    self._send(code, json.dumps(obj).encode(), "application/json")

  def _user_error(self, route: str, msg: str, code: int = 400) -> None:
    _LOG.info("user error %s: %s", route, msg)
    self._json(code, {"error": msg})

  def do_GET(self):  # pylint: disable=invalid-name
    url = urllib.parse.urlsplit(self.path)
    if url.path in _FILES:
      name, ctype = _FILES[url.path]
      with open(os.path.join(STATIC, name), "rb") as f:
        return self._send(200, f.read(), ctype)
    try:
      if url.path == "/api/info":
        return self._json(200, self.server.app.info())
      if url.path == "/api/download":
        q = urllib.parse.parse_qs(url.query)
        tab = self.server.tabs.get((q.get("sid") or [""])[0])
        at_source = (q.get("at") or ["source"])[0] != "model"
        with tab.lock:
          data = self.server.app.download(tab, at_source)
        # Header values are Latin-1: an ASCII file name.
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_",
                      os.path.splitext(tab.name)[0]) or "image"
        return self._send(200, data, "image/png", {
            "Content-Disposition":
                f'attachment; filename="{stem}_edited.png"'})
    except core.UserError as e:
      return self._user_error(url.path, str(e))
    except Exception:  # pylint: disable=broad-except
      _LOG.exception("fault in GET %s", url.path)
      return self._json(500, {"error": "Internal error (see the server "
                                       "log)."})
    if url.path == "/favicon.ico":
      return self._send(204, b"", "image/x-icon")
    self._json(404, {"error": "Not found."})

  def do_HEAD(self):  # pylint: disable=invalid-name
    self.do_GET()

  def do_POST(self):  # pylint: disable=invalid-name
    path = urllib.parse.urlsplit(self.path).path
    if not path.startswith("/api/"):
      return self._json(404, {"error": "Not found."})
    route = path[len("/api/"):]
    try:
      length = int(self.headers.get("Content-Length") or 0)
    except ValueError:
      length = -1
    if length < 0 or length > MAX_BODY:
      self.close_connection = True
      return self._user_error(
          path, f"The request is larger than the editor takes (uploads up "
          f"to {core.MAX_UPLOAD_BYTES // (1024 * 1024)} MB).", 413)
    try:
      body = json.loads(self.rfile.read(length) or b"{}")
      if not isinstance(body, dict):
        raise ValueError("not an object")
    except ValueError:
      return self._user_error(path, "The request is not a JSON object.")
    if route not in ("session", "example", "upload", "generate", "edit",
                     "outpaint", "keep", "undo", "redo"):
      return self._json(404, {"error": "Not found."})
    try:
      return self._json(200, self.server.api(route, body))
    except core.UserError as e:
      return self._user_error(path, str(e))
    except Busy:
      return self._user_error(path, "The editor is busy (too many requests "
                              "waiting); try again in a moment.", 503)
    except Exception:  # pylint: disable=broad-except
      _LOG.exception("fault in POST %s", path)
      return self._json(500, {"error": "Internal error (see the server "
                                       "log)."})
