"""A real RFC 3161 timestamping authority on 127.0.0.1: OpenSSL's `openssl ts -reply` behind
a small HTTP endpoint, with its own CA and TSA certificate made for the test."""
from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import pathlib
import shutil
import subprocess
import tempfile
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

OPENSSL_CONFIG = """
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_tsa_files(folder: pathlib.Path) -> dict[str, pathlib.Path]:
    """A CA, a TSA certificate it signed (extendedKeyUsage timeStamping, critical), the OpenSSL config."""
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    ca_key, tsa_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("Test TSA Root")).issuer_name(_name("Test TSA Root"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    tsa = (x509.CertificateBuilder().subject_name(_name("Test TSA")).issuer_name(ca.subject)
           .public_key(tsa_key.public_key()).serial_number(x509.random_serial_number())
           .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
           .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
           .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
           .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
           .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
           .sign(ca_key, hashes.SHA256()))
    files = {"ca": folder / "ca.pem", "cert": folder / "tsa.pem", "key": folder / "tsa.key",
             "config": folder / "openssl.cnf"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(tsa.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(tsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
    (folder / "serial").write_text("01\n")
    files["config"].write_text(OPENSSL_CONFIG.format(dir=folder))
    return files


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):   # noqa: N802 (http.server's naming)
        length = min(int(self.headers.get("Content-Length") or 0), 65536)
        query = self.rfile.read(length)
        with self.server.lock, tempfile.TemporaryDirectory() as work:
            query_file, reply_file = pathlib.Path(work, "q.tsq"), pathlib.Path(work, "r.tsr")
            query_file.write_bytes(query)
            done = subprocess.run(["openssl", "ts", "-reply", "-config", str(self.server.files["config"]),
                                   "-queryfile", str(query_file), "-out", str(reply_file)],
                                  capture_output=True, timeout=30)
            reply = reply_file.read_bytes() if done.returncode == 0 and reply_file.exists() else b""
        self.server.requests += 1
        if not reply:
            self.send_response(500)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def running_tsa(folder: pathlib.Path):
    """Yield (url, files, server); the server answers until the block ends."""
    if shutil.which("openssl") is None:
        raise RuntimeError("openssl is not installed")
    files = make_tsa_files(folder)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.files, server.lock, server.requests = files, threading.Lock(), 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa", files, server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def openssl_verify(data_file: pathlib.Path, response_file: pathlib.Path, ca_file: pathlib.Path
                   ) -> subprocess.CompletedProcess:
    """`openssl ts -verify`, as a third party runs it: the response carries the TSA certificate."""
    return subprocess.run(["openssl", "ts", "-verify", "-data", str(data_file), "-in", str(response_file),
                           "-CAfile", str(ca_file)], capture_output=True, text=True)
