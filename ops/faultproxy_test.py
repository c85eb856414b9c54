#!/usr/bin/env python3
# Self-test for ops/faultproxy.py: every mode against a local echo server and a local
# threaded http.server, all on 127.0.0.1 and free ports, in well under 20 s.
#
#   python3 ops/faultproxy_test.py     exit 0 when all pass; otherwise FAIL lines and exit 1
import http.client
import http.server
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import faultproxy  # noqa: E402

WAIT = 0.5                      # how long a client waits before calling it "no answer"
BODY = bytes(range(256)) * 40   # 10240 bytes the http server returns


class Failed(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failed(msg)


# -- the servers behind the proxy -------------------------------------------------------

class EchoServer(socketserver.ThreadingTCPServer):
    """Sends back whatever it gets; closes when the client does. Counts connections."""
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self):
        self.accepted = 0
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                outer.accepted += 1
                self.request.settimeout(10)
                while True:
                    data = self.request.recv(65536)
                    if not data:
                        break
                    self.request.sendall(data)

        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]

    def handle_error(self, request, client_address):
        pass                    # resets are what we are testing; keep stderr clean


class WebServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(BODY)))
                self.end_headers()
                self.wfile.write(BODY)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]

    def handle_error(self, request, client_address):
        pass


def serve(server):
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                     daemon=True).start()
    return server


# -- client helpers ---------------------------------------------------------------------

def connect(port, timeout=WAIT):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def read_to_end(sock, timeout=WAIT):
    """Read until EOF, timeout or reset: (bytes, "eof" | "timeout" | "reset")."""
    sock.settimeout(timeout)
    got = b""
    while True:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return got, "timeout"
        except ConnectionResetError:
            return got, "reset"
        if not data:
            return got, "eof"
        got += data


def recv_exact(sock, n, timeout=3.0):
    sock.settimeout(timeout)
    got = b""
    while len(got) < n:
        data = sock.recv(n - len(got))
        check(data, "connection ended after %d of %d bytes" % (len(got), n))
        got += data
    return got


def echo_ok(port, msg=b"hello daiban"):
    with connect(port, timeout=3.0) as s:
        s.sendall(msg)
        check(recv_exact(s, len(msg)) == msg, "echo through the proxy came back different")


def expect_reset(sock, what):
    """recv must fail with ECONNRESET (Linux); elsewhere b'' after the RST is accepted."""
    sock.settimeout(3.0)
    try:
        data = sock.recv(100)
    except ConnectionResetError:
        return
    except socket.timeout:
        raise Failed("%s: no reset, recv timed out" % what)
    if sys.platform.startswith("linux"):
        raise Failed("%s: expected ECONNRESET, recv gave %r" % (what, data))
    check(data == b"", "%s: expected a reset, got %r" % (what, data))


def wait_for(cond, what, timeout=2.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise Failed("timed out waiting for " + what)
        time.sleep(0.005)


def proxy_threads(p):
    prefix = "faultproxy-%d-" % p.port
    return [t for t in threading.enumerate() if t.name.startswith(prefix) and t.is_alive()]


def timed_stop(p, what):
    t0 = time.monotonic()
    p.stop()
    took = time.monotonic() - t0
    check(took < 3.0, "%s: stop() took %.2f s" % (what, took))
    wait_for(lambda: not proxy_threads(p), "%s: proxy threads to end" % what, timeout=1.0)
    return took


# -- the tests --------------------------------------------------------------------------

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def pass_forwards_exactly(echo, web):
    p = faultproxy.FaultProxy(echo.port).start()
    try:
        payload = os.urandom(300_000)
        with connect(p.port, timeout=3.0) as s:
            sender = threading.Thread(target=s.sendall, args=(payload,), daemon=True)
            sender.start()
            check(recv_exact(s, len(payload)) == payload, "echoed bytes differ")
            sender.join(3)
            s.shutdown(socket.SHUT_WR)              # half-close goes through: echo ends, we see EOF
            rest, how = read_to_end(s, timeout=3.0)
            check((rest, how) == (b"", "eof"), "after half-close: %r %s" % (rest[:20], how))
        st = p.stats()
        check(st["bytes_up"] == len(payload) and st["bytes_down"] == len(payload),
              "byte counts %s, expected %d both ways" % (st, len(payload)))
        check(st["connections"] == 1 and st["faults"] == 0, "stats %s" % st)
    finally:
        p.stop()
    w = faultproxy.FaultProxy(web.port).start()
    try:
        c = http.client.HTTPConnection("127.0.0.1", w.port, timeout=3)
        c.request("GET", "/case/1")
        r = c.getresponse()
        check(r.status == 200 and r.read() == BODY, "http through the proxy differs")
        c.close()
    finally:
        w.stop()


@test
def delay_holds_each_chunk(echo, web):
    ms = 150
    p = faultproxy.FaultProxy(echo.port).start()
    try:
        p.set_mode("delay", ms=ms)
        with connect(p.port, timeout=3.0) as s:
            t0 = time.monotonic()
            s.sendall(b"ping")
            check(recv_exact(s, 4) == b"ping", "delayed echo differs")
            took = time.monotonic() - t0
        check(took >= 2 * ms / 1000 - 0.002, "round trip %.3f s, expected >= %.3f" % (took, 2 * ms / 1000))
        check(p.stats()["faults"] == 1, "faults %s" % p.stats())
    finally:
        p.stop()
    w = faultproxy.FaultProxy(web.port).start()
    try:
        w.set_mode("delay", ms=ms)
        t0 = time.monotonic()
        c = http.client.HTTPConnection("127.0.0.1", w.port, timeout=3)
        c.request("GET", "/")
        check(c.getresponse().read() == BODY, "delayed http body differs")
        took = time.monotonic() - t0
        c.close()
        check(took >= 2 * ms / 1000 - 0.002, "http took %.3f s, expected >= %.3f" % (took, 2 * ms / 1000))
    finally:
        w.stop()


@test
def drop_is_a_black_hole(echo, web):
    p = faultproxy.FaultProxy(echo.port).start()
    try:
        before = echo.accepted
        opened = connect(p.port, timeout=3.0)          # forwarding before the drop
        opened.sendall(b"one")
        check(recv_exact(opened, 3) == b"one", "echo before drop")
        p.set_mode("drop")
        with connect(p.port) as s:
            s.sendall(b"anyone there?")
            got, how = read_to_end(s)
            check((got, how) == (b"", "timeout"), "new conn under drop: %r %s" % (got, how))
        opened.sendall(b"two")
        got, how = read_to_end(opened)
        check((got, how) == (b"", "timeout"), "open conn under drop: %r %s" % (got, how))
        check(echo.accepted == before + 1, "drop connected upstream (%d new echo connections)"
              % (echo.accepted - before))
        check(p.stats()["faults"] == 2, "faults %s" % p.stats())
        held = connect(p.port)                          # left open for stop()
        held.sendall(b"x")
        timed_stop(p, "drop")
        got, how = read_to_end(held)
        check(how in ("eof", "reset"), "dropped conn after stop(): %s" % how)
        held.close()
        opened.close()
    finally:
        p.stop()


@test
def reset_sends_rst(echo, web):
    p = faultproxy.FaultProxy(echo.port).start()
    try:
        opened = connect(p.port, timeout=3.0)
        opened.sendall(b"abc")
        check(recv_exact(opened, 3) == b"abc", "echo before reset")
        p.set_mode("reset")
        expect_reset(opened, "open connection")
        opened.close()
        try:
            s = connect(p.port)
        except ConnectionResetError:    # the RST can beat connect() home: also a reset
            pass
        else:
            expect_reset(s, "new connection")
            s.close()
        check(p.stats()["faults"] == 2, "faults %s" % p.stats())
    finally:
        p.stop()


@test
def stall_after_bytes(echo, web):
    p = faultproxy.FaultProxy(echo.port).start()
    try:
        p.set_mode("stall", after_bytes=40)
        s1 = connect(p.port)
        s1.sendall(b"x" * 100)
        got, how = read_to_end(s1)
        check((len(got), how) == (40, "timeout"), "stall 40: got %d bytes then %s" % (len(got), how))
        s1.sendall(b"more")                             # nothing moves either way now
        got, how = read_to_end(s1, timeout=0.3)
        check((got, how) == (b"", "timeout"), "stalled conn moved: %r %s" % (got, how))
        p.set_mode("stall")                             # default after_bytes=0: reply never comes
        s2 = connect(p.port)
        s2.sendall(b"hello")
        got, how = read_to_end(s2)
        check((got, how) == (b"", "timeout"), "stall 0: %r %s" % (got, how))
        check(p.stats()["faults"] == 2, "faults %s" % p.stats())
        p.set_mode("pass")                              # a mode change releases them (FIN)
        for s in (s1, s2):
            got, how = read_to_end(s, timeout=2.0)
            check(how == "eof", "stalled conn after mode change: %s" % how)
            s.close()
        echo_ok(p.port)
        p.set_mode("stall", after_bytes=3)              # and stop() with some still held
        held = []
        for _ in range(3):
            s = connect(p.port)
            s.sendall(b"abcdef")
            check(read_to_end(s)[0] == b"abc", "stall 3")
            held.append(s)
        timed_stop(p, "stall")
        for s in held:
            check(read_to_end(s, timeout=2.0)[1] in ("eof", "reset"), "stalled conn after stop()")
            s.close()
    finally:
        p.stop()


@test
def truncate_after_bytes(echo, web):
    p = faultproxy.FaultProxy(echo.port).start()
    try:
        p.set_mode("truncate", after_bytes=40)
        with connect(p.port, timeout=3.0) as s:
            s.sendall(b"y" * 100)
            got, how = read_to_end(s, timeout=3.0)
            check((got, how) == (b"y" * 40, "eof"), "truncate 40: got %d bytes then %s" % (len(got), how))
        check(p.stats()["faults"] == 1, "faults %s" % p.stats())
    finally:
        p.stop()
    w = faultproxy.FaultProxy(web.port).start()
    try:
        w.set_mode("truncate", after_bytes=1200)
        with connect(w.port, timeout=3.0) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            got, how = read_to_end(s, timeout=3.0)
            check((len(got), how) == (1200, "eof"), "http truncate: %d bytes then %s" % (len(got), how))
            check(got.startswith(b"HTTP/1.0 200"), "http truncate: reply starts %r" % got[:20])
    finally:
        w.stop()


@test
def down_refuses_then_reopens(echo, web):
    p = faultproxy.FaultProxy(echo.port).start()
    try:
        port = p.port
        opened = connect(port, timeout=3.0)
        opened.sendall(b"abc")
        check(recv_exact(opened, 3) == b"abc", "echo before down")
        p.set_mode("down")
        try:
            connect(port).close()
            raise Failed("connect succeeded while down")
        except ConnectionRefusedError:
            pass
        expect_reset(opened, "open connection when going down")
        opened.close()
        p.set_mode("pass")
        check(p.port == port, "port changed from %d to %d" % (port, p.port))
        echo_ok(port)
    finally:
        p.stop()


@test
def random_repeats_with_a_seed(echo, web):
    probs = {"pass": 0.3, "delay": 0.1, "drop": 0.15, "reset": 0.15, "stall": 0.15, "truncate": 0.15}

    def run(seed):
        p = faultproxy.FaultProxy(echo.port, seed=seed).start()
        try:
            p.set_mode("random", probs=probs, max_bytes=100, ms=10)
            for i in range(20):
                try:
                    s = connect(p.port)
                except ConnectionResetError:    # a "reset" pick can beat connect() home
                    s = None
                wait_for(lambda: len(p.history()) == i + 1, "connection %d to be accepted" % (i + 1))
                if s is not None:
                    s.close()
            return [(h["mode"], h.get("after_bytes"), h.get("ms")) for h in p.history()]
        finally:
            timed_stop(p, "random")

    a, b, c = run(7), run(7), run(8)
    check(a == b, "same seed, different choices:\n  %s\n  %s" % (a, b))
    check(len({m for m, _, _ in a}) >= 3, "20 random picks used fewer than 3 modes: %s" % a)
    check(a != c, "seeds 7 and 8 gave the same choices")


@test
def stop_with_held_connections(echo, web):
    p = faultproxy.FaultProxy(echo.port, seed=1).start()
    held = []
    try:
        p.set_mode("random", probs={"stall": 0.5, "drop": 0.5}, max_bytes=0)
        for _ in range(6):
            s = connect(p.port)
            s.sendall(b"data")
            held.append(s)
        wait_for(lambda: len(p.history()) == 6, "6 connections")
        kinds = {h["mode"] for h in p.history()}
        check(kinds == {"stall", "drop"}, "expected both stall and drop, got %s" % kinds)
        time.sleep(0.2)
        took = timed_stop(p, "held")
        check(took < 3.0, "stop took %.2f s" % took)
    finally:
        p.stop()
        for s in held:
            s.close()


@test
def cli_runs_until_interrupted(echo, web):
    cmd = [sys.executable, os.path.join(HERE, "faultproxy.py"), "--listen", "0",
           "--target", str(echo.port), "--mode", "truncate", "--after-bytes", "5"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = proc.stdout.readline()
        check(first.startswith("listening on 127.0.0.1:"), "CLI said %r" % first)
        port = int(first.split(":")[1].split()[0])
        with connect(port, timeout=3.0) as s:
            s.sendall(b"0123456789")
            got, how = read_to_end(s, timeout=3.0)
            check((got, how) == (b"01234", "eof"), "CLI truncate: %r %s" % (got, how))
        line = proc.stdout.readline()
        check(line.strip() == "conn 1: truncate after 5 bytes", "CLI connection line %r" % line)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=4)
        check(proc.returncode == 0, "CLI exit %s: %s" % (proc.returncode, out))
        check("stopped:" in out, "CLI final line missing: %r" % out)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main():
    # Whatever hangs, the whole test ends within 20 s.
    watchdog = threading.Timer(19.0, lambda: (print("FAIL: self-test still running after 19 s",
                                                    flush=True), os._exit(2)))
    watchdog.daemon = True
    watchdog.start()
    echo, web = serve(EchoServer()), serve(WebServer())
    t_all = time.monotonic()
    failed = 0
    for fn in TESTS:
        t0 = time.monotonic()
        try:
            fn(echo, web)
            print("ok   %-28s %.2f s" % (fn.__name__, time.monotonic() - t0), flush=True)
        except Exception as e:          # Failed, or an unexpected socket error
            failed += 1
            kind = "" if isinstance(e, Failed) else type(e).__name__ + ": "
            print("FAIL %-28s %s%s" % (fn.__name__, kind, e), flush=True)
    echo.shutdown()
    web.shutdown()
    took = time.monotonic() - t_all
    if failed:
        print("faultproxy self-test: %d of %d FAILED (%.1f s)" % (failed, len(TESTS), took))
        return 1
    print("faultproxy self-test: all %d passed (%.1f s)" % (len(TESTS), took))
    return 0


if __name__ == "__main__":
    sys.exit(main())
