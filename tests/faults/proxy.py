"""A TCP forwarder a test can cut, to take the broker away from the services
without stopping the machine's RabbitMQ (other programs share it).

``cut()`` closes every forwarded connection and stops listening, so a client
sees what it would see of a dead broker: its connection gone and new ones
refused. ``restore()`` listens again on the same port.
"""

from __future__ import annotations

import socket
import threading
import time


class TcpProxy:
    def __init__(self, target: tuple[str, int], host: str = "127.0.0.1"):
        self.target, self.host = target, host
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self.accepted = 0  # connections accepted so far (a test counts a client's)
        self._listener = self._listen(0)
        self.port = self._listener.getsockname()[1]
        self._closed = False
        self._serving = threading.Thread(target=self._serve, args=(self._listener,), daemon=True)
        self._serving.start()

    def _listen(self, port: int) -> socket.socket:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, port))
        listener.listen(128)
        # a short accept timeout lets the serving thread notice a cut
        listener.settimeout(0.1)
        return listener

    def cut(self) -> None:
        """Close every connection through the proxy and refuse new ones."""
        with self._lock:
            listener, self._listener = self._listener, None
            doomed, self._connections = self._connections, set()
        if listener is not None:
            self._serving.join()  # it sees the listener gone within an accept timeout
            listener.close()
        for sock in doomed:
            # shutdown wakes the pump blocked on recv; the pump closes the socket
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def restore(self) -> None:
        """Listen again, on the same port."""
        with self._lock:
            if self._listener is not None or self._closed:
                return
            deadline = time.monotonic() + 10
            while True:
                try:
                    self._listener = self._listen(self.port)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            self._serving = threading.Thread(target=self._serve, args=(self._listener,),
                                             daemon=True)
            self._serving.start()

    def close(self) -> None:
        self.cut()
        self._closed = True

    def _serve(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut while connecting
                    client.close()
                    upstream.close()
                    return
                self._connections |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            # one side ended: end both (the other pump wakes on the shutdown)
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            with self._lock:
                self._connections.discard(source)
            source.close()
