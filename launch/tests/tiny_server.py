"""A stand-in service for the supervisor's tests: answers every GET with 200 and its pid,
on the port in $TINY_PORT."""

import os
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = str(os.getpid()).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        print("request", flush=True)


if __name__ == "__main__":
    print("listening", flush=True)
    HTTPServer(("127.0.0.1", int(os.environ["TINY_PORT"])), Handler).serve_forever()
