#!/usr/bin/env python3
# A fault-injecting TCP proxy for the sync fault drills and the demo driver.
# It sits between a child node and its parent's sync port on 127.0.0.1 and passes raw TCP
# bytes both ways (TLS goes through unchanged), while injecting one kind of failure at a time:
#
#   pass      forward both ways
#   delay     hold every chunk ms=N milliseconds before forwarding (both directions)
#   drop      black hole: accept, read and discard, never connect upstream, never answer;
#             open connections stop forwarding too (what they send is discarded)
#   reset     new connections are reset (RST) at once; open connections are reset too
#   stall     forward after_bytes=N bytes target->client, then nothing either way, sockets
#             held open until stop() or the next mode change
#   truncate  forward after_bytes=N bytes target->client, then close both sockets (FIN)
#   down      close the listening socket (connects get ECONNREFUSED), reset open connections;
#             any other mode opens it again on the same port
#   random    each new connection picks one of pass/delay/drop/reset/stall/truncate with
#             probs={"pass": 0.5, ...}; after_bytes drawn from [0, max_bytes] (default 4096);
#             the choices come from random.Random(seed), so a run repeats
#
# stall/truncate fire when the target's reply would go past after_bytes, so after_bytes=0
# means "the request reached the parent, the reply is lost". delay/stall/truncate/pass apply
# to new connections; drop/reset/down also to open ones. Stalled and dropped connections
# are closed (FIN) when the mode changes to another mode (reset/down reset them instead).
#
# From Python (ops/ on sys.path):
#   p = faultproxy.FaultProxy(target_port=8701).start()   # child syncs to 127.0.0.1:p.port
#   p.set_mode("truncate", after_bytes=1200); ...; p.stats(); p.stop()
# By hand, until Ctrl-C, one line per connection:
#   python3 ops/faultproxy.py --listen 9000 --target 8701 [--mode delay --ms 200]
# Self-test: python3 ops/faultproxy_test.py
import argparse
import logging
import queue
import random
import socket
import struct
import sys
import threading
import time

log = logging.getLogger("faultproxy")

POLL = 0.2          # every blocking socket call wakes at least this often to look at flags
BUF = 65536
CONNECT_TIMEOUT = 2.0
KINDS = ("pass", "delay", "drop", "reset", "stall", "truncate")   # what a connection can be
PARAMS = {          # the parameters set_mode() accepts per mode
    "pass": (), "drop": (), "reset": (), "down": (),
    "delay": ("ms",),
    "stall": ("after_bytes",), "truncate": ("after_bytes",),
    "random": ("probs", "max_bytes", "ms", "seed"),
}
DEFAULT_MS = 200
DEFAULT_MAX_BYTES = 4096
DEFAULT_PROBS = {"pass": 0.5, "delay": 0.1, "drop": 0.1, "reset": 0.1, "stall": 0.1,
                 "truncate": 0.1}


def _wake_and_close(sock):
    """close() alone does not take effect while another thread polls the socket (the poll
    holds a reference until it times out); SHUT_RD wakes that thread without sending anything."""
    try:
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    sock.close()


def _reset_close(sock):
    """Close with SO_LINGER on, timeout 0: the kernel sends RST instead of FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    _wake_and_close(sock)


def _fin_close(sock):
    """Close with FIN. Unread received data would make close() send RST, so read it first."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    try:
        sock.setblocking(False)
        for _ in range(64):             # bounded: a peer that keeps sending gets its RST
            if not sock.recv(BUF):
                break
    except OSError:
        pass
    _wake_and_close(sock)


def _describe(kind, params):
    if kind == "delay":
        return "delay %d ms" % params["ms"]
    if kind in ("stall", "truncate"):
        return "%s after %d bytes" % (kind, params["after_bytes"])
    return kind


class _Conn:
    """One client connection and (unless dropped) its upstream connection.

    The connection's thread runs the client->target pump; a second thread runs
    target->client; delay adds one writer thread per direction. Every thread wakes at
    least every POLL seconds, and close() makes them all finish."""

    def __init__(self, proxy, cid, client, kind, params):
        self.proxy, self.id, self.client = proxy, cid, client
        self.upstream = None
        self.kind = kind
        self.after = params.get("after_bytes", 0)
        self.delay = params.get("ms", 0) / 1000.0
        self.state = "dropped" if kind == "drop" else "active"   # active|stalled|dropped|closed
        self.down_bytes = 0             # target->client bytes let through (stall/truncate)
        self.eofs = 0                   # directions that have passed on their EOF
        self.lock = threading.Lock()
        self.closed = threading.Event()

    # -- life cycle ---------------------------------------------------------------------

    def run(self):
        if self.kind == "drop":
            self._discard()
            return
        try:
            up = socket.create_connection(self.proxy.target, timeout=CONNECT_TIMEOUT)
        except OSError as e:
            log.debug("conn %d: cannot reach %s:%d: %s", self.id, *self.proxy.target, e)
            self.close()
            return
        up.settimeout(POLL)
        # Forward each piece at once, as the endpoints do (common::BindListener): with
        # Nagle's algorithm here a small write waits for the peer's delayed ACK (~40 ms).
        for s in (up, self.client):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.lock:
            if self.closed.is_set():    # stopped or reset while connecting
                up.close()
                return
            self.upstream = up
        self.proxy._spawn(self._pump, up, self.client, "down", name="c%d-down" % self.id)
        self._pump(self.client, up, "up")

    def close(self, rst=False):
        """Close both sockets, with RST if rst else FIN. Safe from any thread, any number of times."""
        with self.lock:
            if self.closed.is_set():
                return
            self.closed.set()
            self.state = "closed"
            socks = [s for s in (self.client, self.upstream) if s is not None]
        for s in socks:
            _reset_close(s) if rst else _fin_close(s)
        self.proxy._forget(self)

    def drop(self):
        """Turn an open connection into a black hole; True if it was forwarding."""
        with self.lock:
            if self.state != "active":
                return False
            self.state = "dropped"
            return True

    def held(self):
        return self.state in ("stalled", "dropped")

    # -- moving bytes -------------------------------------------------------------------

    def _discard(self):
        """drop: read and throw away what the client sends until it goes away or we stop."""
        while not self.closed.is_set():
            try:
                if not self.client.recv(BUF):
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        self.close()

    def _pump(self, src, dst, direction):
        q = None
        if self.kind == "delay":
            q = queue.Queue(maxsize=256)
            self.proxy._spawn(self._writer, dst, q, direction,
                              name="c%d-%s-delay" % (self.id, direction))
        while not self.closed.is_set():
            try:
                data = src.recv(BUF)
            except TimeoutError:
                continue
            except OSError as e:
                self._broken(e)
                break
            if self.closed.is_set():
                break
            if self.state == "dropped":
                if not data:            # client gone: done; target gone: stop reading it
                    if src is self.client:
                        self.close()
                    break
                continue                # discard
            if self.state == "stalled":
                self.closed.wait()      # hold the sockets open, move nothing
                break
            if not self._forward(dst, data or None, direction, q):
                break

    def _forward(self, dst, data, direction, q):
        """Pass data (None = EOF) on; False when this direction should stop."""
        if q is not None:               # delay: the writer thread sends it when it is due
            item = (time.monotonic() + self.delay, data)
            while not self.closed.is_set() and self.state == "active":
                try:
                    q.put(item, timeout=POLL)
                    return data is not None
                except queue.Full:
                    continue
            return False
        if data is None:
            self._eof(dst)
            return False
        if direction == "down" and self.kind in ("stall", "truncate"):
            room = self.after - self.down_bytes
            if len(data) > room:        # the reply goes past after_bytes: cut it here
                if room > 0 and not self._send(dst, data[:room], direction):
                    return False
                self.down_bytes += max(room, 0)
                self._fire()
                return False
            self.down_bytes += len(data)
        return self._send(dst, data, direction)

    def _writer(self, dst, q, direction):
        """delay: send each queued chunk once it has been held self.delay seconds."""
        while not self.closed.is_set():
            try:
                due, data = q.get(timeout=POLL)
            except queue.Empty:
                continue
            if self.closed.wait(max(0.0, due - time.monotonic())):
                break
            if self.state != "active":
                continue                # dropped meanwhile: discard
            if data is None:
                self._eof(dst)
                break
            if not self._send(dst, data, direction):
                break

    def _send(self, sock, data, direction):
        view = memoryview(data)
        while view:
            if self.closed.is_set() or self.state != "active":
                return False
            try:
                n = sock.send(view)     # with a timeout: sends some or raises, never loses bytes
            except TimeoutError:
                continue
            except OSError as e:
                self._broken(e)
                return False
            view = view[n:]
            self.proxy._count_bytes(direction, n)
        return True

    def _eof(self, dst):
        """One side finished sending: pass it on as a half-close; close when both have."""
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        with self.lock:
            self.eofs += 1
            both = self.eofs == 2
        if both:
            self.close()

    def _broken(self, e):
        if self.closed.is_set():
            return
        # Pass a reset on as a reset; anything else ends the connection with FIN.
        self.close(rst=isinstance(e, ConnectionResetError))

    def _fire(self):
        """stall/truncate: the reply reached after_bytes."""
        self.proxy._count_fault()
        log.debug("conn %d: %s fired after %d bytes", self.id, self.kind, self.down_bytes)
        if self.kind == "truncate":
            self.close()
        else:
            with self.lock:
                if self.state == "active":
                    self.state = "stalled"


class FaultProxy:
    """A TCP proxy on 127.0.0.1 that injects one kind of fault at a time (see the header)."""

    def __init__(self, target_port, listen_port=0, target_host="127.0.0.1", seed=None):
        self.target = (target_host, target_port)
        self.port = listen_port
        self._lock = threading.Lock()
        self._mode, self._params = "pass", {}
        self._rng = random.Random(seed)
        self._conns = set()
        self._threads = []
        self._history = []
        self._stats = {"connections": 0, "bytes_up": 0, "bytes_down": 0, "faults": 0}
        self._stopping = threading.Event()
        self._accept_thread = None
        self._listener = None
        self._open_listener()           # bound now, so self.port is known before start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- public API ---------------------------------------------------------------------

    def start(self):
        if self._accept_thread is None:
            self._accept_thread = self._spawn(self._accept_loop, name="accept")
        return self

    def stop(self):
        """Close the listener and every connection; wait up to ~2 s for the threads."""
        self._stopping.set()
        self._close_listener()
        with self._lock:
            conns = list(self._conns)
            threads = list(self._threads)
        for c in conns:
            c.close()
        deadline = time.monotonic() + 2.0
        for t in threads:
            if t is not threading.current_thread():
                t.join(max(0.0, deadline - time.monotonic()))

    def set_mode(self, mode, **params):
        if mode not in PARAMS:
            raise ValueError("faultproxy: unknown mode %r (one of %s)" % (mode, ", ".join(PARAMS)))
        unknown = set(params) - set(PARAMS[mode])
        if unknown:
            raise TypeError("faultproxy: mode %r takes no %s" % (mode, ", ".join(sorted(unknown))))
        params = self._check_params(mode, params)
        with self._lock:
            old = self._mode
            self._mode, self._params = mode, params
            if mode == "random" and params.get("seed") is not None:
                self._rng.seed(params["seed"])
            conns = list(self._conns)
        log.debug("mode %s %s", mode, params)
        if mode in ("reset", "down"):
            for c in conns:
                self._count_fault()
                c.close(rst=True)
        else:
            if mode != old:             # stalled/dropped connections are held until now
                for c in conns:
                    if c.held():
                        c.close()
            if mode == "drop":
                for c in conns:
                    if c.drop():
                        self._count_fault()
        if mode == "down":
            self._count_fault()
            self._close_listener()
        elif not self._stopping.is_set():
            self._open_listener()

    def stats(self):
        with self._lock:
            return dict(self._stats)

    def history(self):
        """One dict per accepted connection: {"conn", "mode", and "ms"/"after_bytes"}."""
        with self._lock:
            return [dict(h) for h in self._history]

    # -- internals ----------------------------------------------------------------------

    @staticmethod
    def _check_params(mode, params):
        p = dict(params)
        if mode == "delay":
            p["ms"] = int(p.get("ms", DEFAULT_MS))
        if mode in ("stall", "truncate"):
            p["after_bytes"] = int(p.get("after_bytes", 0))
        if mode == "random":
            probs = dict(p.get("probs") or DEFAULT_PROBS)
            bad = set(probs) - set(KINDS)
            if bad:
                raise ValueError("faultproxy: probs for unknown modes: %s" % ", ".join(sorted(bad)))
            if any(v < 0 for v in probs.values()) or sum(probs.values()) <= 0:
                raise ValueError("faultproxy: probs must be >= 0 with a positive sum")
            p["probs"] = probs
            p["max_bytes"] = int(p.get("max_bytes", DEFAULT_MAX_BYTES))
            p["ms"] = int(p.get("ms", DEFAULT_MS))
        for key in ("ms", "after_bytes", "max_bytes"):
            if p.get(key, 0) < 0:
                raise ValueError("faultproxy: %s must be >= 0" % key)
        return p

    def _pick(self, params):
        """random: one kind and its parameters. Always two draws, so runs repeat."""
        r = self._rng.random()
        after = self._rng.randint(0, params["max_bytes"])
        probs = params["probs"]
        total = sum(probs.values())
        acc, kind = 0.0, None
        for k in KINDS:                 # fixed order, whatever order probs was written in
            if probs.get(k, 0) > 0:
                kind = k
                acc += probs[k] / total
                if r < acc:
                    break
        if kind == "delay":
            return kind, {"ms": params["ms"]}
        if kind in ("stall", "truncate"):
            return kind, {"after_bytes": after}
        return kind, {}

    def _open_listener(self):
        with self._lock:
            if self._listener is not None:
                return
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", self.port))
                s.listen(64)
            except OSError:
                s.close()
                raise
            s.settimeout(POLL)
            self.port = s.getsockname()[1]
            self._listener = s

    def _close_listener(self):
        with self._lock:
            s, self._listener = self._listener, None
        if s is not None:
            _wake_and_close(s)          # stops listening now; the accept thread sees None

    def _accept_loop(self):
        while not self._stopping.is_set():
            with self._lock:
                lst = self._listener
            if lst is None:             # down
                self._stopping.wait(POLL)
                continue
            try:
                client, _ = lst.accept()
            except TimeoutError:
                continue
            except OSError:             # closed under us (down/stop)
                self._stopping.wait(0.01)
                continue
            client.settimeout(POLL)
            self._handle(client)

    def _handle(self, client):
        with self._lock:
            if self._stopping.is_set():
                client.close()
                return
            self._stats["connections"] += 1
            cid = self._stats["connections"]
            mode, params = self._mode, self._params
            if mode == "random":
                kind, params = self._pick(params)
                how = " (random)"
            else:
                kind, params, how = mode, dict(params), ""
            if kind == "down":          # accepted just before the listener closed
                kind = "reset"
            self._history.append(dict(conn=cid, mode=kind, **params))
            if kind in ("delay", "drop", "reset"):
                self._stats["faults"] += 1
            conn = None
            if kind != "reset":
                conn = _Conn(self, cid, client, kind, params)
                self._conns.add(conn)
        log.info("conn %d: %s%s", cid, _describe(kind, params), how)
        if conn is None:
            _reset_close(client)
        else:
            self._spawn(conn.run, name="c%d-up" % cid)

    def _spawn(self, target, *args, name):
        t = threading.Thread(target=target, args=args, daemon=True,
                             name="faultproxy-%d-%s" % (self.port, name))
        with self._lock:
            self._threads = [x for x in self._threads if x.is_alive()]
            self._threads.append(t)
        t.start()
        return t

    def _forget(self, conn):
        with self._lock:
            self._conns.discard(conn)

    def _count_bytes(self, direction, n):
        with self._lock:
            self._stats["bytes_up" if direction == "up" else "bytes_down"] += n

    def _count_fault(self):
        with self._lock:
            self._stats["faults"] += 1


def _parse_probs(text):
    probs = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        probs[name.strip()] = float(value)
    return probs


def main(argv=None):
    ap = argparse.ArgumentParser(description="Fault-injecting TCP proxy on 127.0.0.1 (see the header of this file).")
    ap.add_argument("--listen", type=int, default=0, help="port to listen on (0: any free port)")
    ap.add_argument("--target", type=int, required=True, help="port to forward to")
    ap.add_argument("--target-host", default="127.0.0.1")
    ap.add_argument("--mode", default="pass", choices=sorted(PARAMS))
    ap.add_argument("--ms", type=int, help="delay, random: milliseconds per chunk (default %d)" % DEFAULT_MS)
    ap.add_argument("--after-bytes", type=int, help="stall, truncate: bytes let through (default 0)")
    ap.add_argument("--max-bytes", type=int, help="random: after_bytes drawn from [0, N] (default %d)" % DEFAULT_MAX_BYTES)
    ap.add_argument("--probs", help="random: e.g. pass=0.5,reset=0.2,truncate=0.3")
    ap.add_argument("--seed", type=int, help="random: seed, so a run repeats")
    ap.add_argument("-v", "--verbose", action="store_true", help="also log faults as they fire")
    a = ap.parse_args(argv)

    logging.basicConfig(format="%(message)s", level=logging.DEBUG if a.verbose else logging.INFO,
                        stream=sys.stdout)
    params = {}
    if a.mode in ("delay", "random") and a.ms is not None:
        params["ms"] = a.ms
    if a.mode in ("stall", "truncate") and a.after_bytes is not None:
        params["after_bytes"] = a.after_bytes
    if a.mode == "random":
        if a.max_bytes is not None:
            params["max_bytes"] = a.max_bytes
        if a.probs:
            params["probs"] = _parse_probs(a.probs)

    proxy = FaultProxy(a.target, listen_port=a.listen, target_host=a.target_host, seed=a.seed)
    proxy.set_mode(a.mode, **params)
    proxy.start()
    print("listening on 127.0.0.1:%d -> %s:%d, mode %s (Ctrl-C stops)"
          % (proxy.port, a.target_host, a.target, a.mode), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    proxy.stop()
    print("stopped: %s" % proxy.stats(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
