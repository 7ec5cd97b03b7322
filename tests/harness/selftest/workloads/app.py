"""A stand-in service image for the workloads self-test: `serve` answers /ready until SIGTERM, `consume`
drains SQS_QUEUE_URL until SIGTERM (`--keep`: without deleting), `job` and `migrate` exit 0."""

import http.server
import os
import signal
import sys
import threading

command = sys.argv[1] if len(sys.argv) > 1 else "serve"
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())

if command == "serve":
    class Ready(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200 if self.path == "/ready" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Ready)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop.wait()
    server.shutdown()
elif command == "consume":
    import boto3

    sqs = boto3.client("sqs")
    while not stop.is_set():
        for m in sqs.receive_message(QueueUrl=os.environ["SQS_QUEUE_URL"], WaitTimeSeconds=1).get("Messages", []):
            if "--keep" not in sys.argv:
                sqs.delete_message(QueueUrl=os.environ["SQS_QUEUE_URL"], ReceiptHandle=m["ReceiptHandle"])
elif command in ("job", "migrate"):
    print(f"{command}: done")
else:
    sys.exit(f"unknown command {command!r}")
