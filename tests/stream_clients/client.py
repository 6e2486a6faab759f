"""Socket clients for the stream_clients test (127.0.0.1 only, bounded in time).

  client.py stall PORT SECONDS   GET /stream (a very long stream), read 1 MiB, stop reading for SECONDS, close
  client.py upload PORT BYTES    POST /upload with Content-Length: BYTES of zeros, print the answer's body
  client.py too-large PORT       POST /upload announcing 5 GiB, send no body, print the status line
"""
import socket
import sys
import time


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    return s


def read_answer(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return head.split(b"\r\n")[0].decode(), body.decode()


def stall(port, seconds):
    s = connect(port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.sendall(b"GET /stream?chunks=1000000&size=65536 HTTP/1.1\r\nHost: x\r\n\r\n")
    got = 0
    while got < 1 << 20:
        chunk = s.recv(65536)
        if not chunk:
            print("the stream ended early")
            return 1
        got += len(chunk)
    time.sleep(seconds)
    s.close()
    print("read %d bytes, then stalled %d s" % (got, seconds))
    return 0


def upload(port, size):
    s = connect(port)
    s.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
              b"Content-Length: %d\r\n\r\n" % size)
    block = bytes(1 << 20)
    sent = 0
    while sent < size:
        n = min(len(block), size - sent)
        s.sendall(block[:n])
        sent += n
    status, body = read_answer(s)
    print(body)
    return 0 if status.startswith("HTTP/1.1 200") else 1


def too_large(port):
    s = connect(port)
    s.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5368709120\r\n\r\n")
    status, _ = read_answer(s)
    print(status)
    return 0


if __name__ == "__main__":
    what, port = sys.argv[1], int(sys.argv[2])
    if what == "stall":
        sys.exit(stall(port, int(sys.argv[3])))
    if what == "upload":
        sys.exit(upload(port, int(sys.argv[3])))
    if what == "too-large":
        sys.exit(too_large(port))
    sys.exit(2)
