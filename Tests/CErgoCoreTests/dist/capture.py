#!/usr/bin/env python3
"""Capture distribution-protocol bytes from a real Erlang/OTP installation,
for the C tests' vectors (test_dist_*.c). Not run by the tests; rerun by
hand to refresh: python3 capture.py > vectors.txt

Part A talks to a real `epmd` (its responses). Part B plays EPMD and a node
called py@HOST for a real `erl` node (its requests, handshake messages and
distribution packets). Prints one "name hex" line per capture."""
import hashlib, os, socket, struct, subprocess, sys, threading, time

HOST = socket.gethostname().split('.')[0]
COOKIE = b"secret"
OUT = []

def rec(name, data):
    OUT.append((name, bytes(data)))

def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("closed")
        b += c
    return b

def recv_all(s):
    b = b""
    while True:
        c = s.recv(65536)
        if not c:
            return b
        b += c

# ---- Part A: a real epmd ----------------------------------------------------
def part_a():
    port = 14369
    epmd = subprocess.Popen(["epmd", "-port", str(port)])
    time.sleep(0.5)
    try:
        def alive(name, hi, lo, nport):
            body = struct.pack(">BHBBHHH", 120, nport, 77, 0, hi, lo, len(name)) + name + struct.pack(">H", 0)
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(struct.pack(">H", len(body)) + body)
            return s
        s1 = alive(b"capt", 6, 5, 5555)
        r = recv_exact(s1, 2)
        r += recv_exact(s1, 4 if r[0] == 118 else 2)
        rec("epmd_alive2_x_resp", r)
        s2 = alive(b"oldv", 5, 5, 5556)
        r = recv_exact(s2, 2)
        r += recv_exact(s2, 4 if r[0] == 118 else 2)
        rec("epmd_alive2_resp_v5", r)
        for nm, key in ((b"capt", "epmd_port2_resp"), (b"nosuch", "epmd_port2_resp_err")):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(struct.pack(">HB", 1 + len(nm), 122) + nm)
            rec(key, recv_all(s))
            s.close()
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(struct.pack(">HB", 1, 110))
        rec("epmd_names_resp", recv_all(s))
        s.close()
        s1.close(); s2.close()
    finally:
        epmd.terminate()
        epmd.wait()

# ---- Part B: fake epmd and node for a real erl ---------------------------------
def part_b():
    epmd_port, node_port = 14370, 14371
    le = socket.socket(); le.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    le.bind(("127.0.0.1", epmd_port)); le.listen(8)
    ln = socket.socket(); ln.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ln.bind(("127.0.0.1", node_port)); ln.listen(8)
    keep = []

    def epmd_server():
        while True:
            try:
                c, _ = le.accept()
            except OSError:
                return
            n = struct.unpack(">H", recv_exact(c, 2))[0]
            body = recv_exact(c, n)
            if body[0] == 120:
                rec("erl_alive2_req", struct.pack(">H", n) + body)
                c.sendall(bytes([118, 0]) + struct.pack(">I", 0x1234))
                keep.append(c)
            elif body[0] == 122:
                rec("erl_port_please2_req", struct.pack(">H", n) + body)
                name = b"py"
                c.sendall(struct.pack(">BBHBBHHH", 119, 0, node_port, 77, 0, 6, 5, len(name)) + name + b"\0\0")
                c.close()
            else:
                c.close()
    threading.Thread(target=epmd_server, daemon=True).start()

    script = ("{foo, 'py@%s'} ! {hello, world, hello}, "
              "{foo, 'py@%s'} ! {hello, again}, "
              "{foo, 'py@%s'} ! {big, lists:duplicate(60000, {ok, 1})}, "
              "timer:sleep(1500), halt()." % (HOST, HOST, HOST))
    env = dict(os.environ, ERL_EPMD_PORT=str(epmd_port))
    erl = subprocess.Popen(["erl", "-noshell", "-sname", "capa", "-setcookie", COOKIE.decode(),
                            "-eval", script], env=env)
    try:
        c, _ = ln.accept()
        n = struct.unpack(">H", recv_exact(c, 2))[0]
        name = recv_exact(c, n)
        rec("erl_send_name", name)
        c.sendall(b"\0\3sok")
        flags = FLAGS
        me = ("py@%s" % HOST).encode()
        ch = 0xdeadbeef
        body = b"N" + struct.pack(">QIIH", flags, ch, 0x12345678, len(me)) + me
        c.sendall(struct.pack(">H", len(body)) + body)
        n = struct.unpack(">H", recv_exact(c, 2))[0]
        reply = recv_exact(c, n)
        rec("erl_challenge_reply", reply)
        their = struct.unpack(">I", reply[1:5])[0]
        want = hashlib.md5(COOKIE + str(ch).encode()).digest()
        assert reply[5:21] == want, "digest mismatch"
        d = hashlib.md5(COOKIE + str(their).encode()).digest()
        c.sendall(struct.pack(">H", 17) + b"a" + d)
        c.settimeout(5)
        k = 0
        while True:
            try:
                hdr = recv_exact(c, 4)
            except (EOFError, socket.timeout, ConnectionResetError):
                break
            n = struct.unpack(">I", hdr)[0]
            if n == 0:
                continue
            pkt = recv_exact(c, n)
            k += 1
            rec("erl_dist_packet_%d" % k, pkt if len(pkt) < 400 else pkt[:400])
            if len(pkt) >= 400:
                rec("erl_dist_packet_%d_len" % k, struct.pack(">I", len(pkt)))
    finally:
        erl.wait(timeout=20)
        le.close(); ln.close()
        for s in keep:
            s.close()

# The flags this fake node offers: OTP 25's defaults, or those given.
FLAGS = int(sys.argv[1], 0) if len(sys.argv) > 1 else 0xd07df7fbc
if len(sys.argv) < 3 or sys.argv[2] != "b-only":
    part_a()
part_b()
for name, data in OUT:
    print(name, data.hex())
