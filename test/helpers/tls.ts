/**
 * A throwaway CA and a server certificate for localhost/127.0.0.1, made with the openssl CLI at
 * test time (nothing secret is committed).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestTls {
  dir: string;
  caPath: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export function makeTestTls(): TestTls {
  const dir = mkdtempSync(join(tmpdir(), "clarifai-audit-tls-"));
  const p = (f: string) => join(dir, f);
  const ssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  ssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=clarifai-audit test CA",
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.pem"),
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
  ssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=localhost",
    "-keyout",
    p("server.key"),
    "-out",
    p("server.csr"),
  );
  writeFileSync(
    p("server.ext"),
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
  );
  ssl(
    "x509",
    "-req",
    "-in",
    p("server.csr"),
    "-CA",
    p("ca.pem"),
    "-CAkey",
    p("ca.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-out",
    p("server.pem"),
    "-extfile",
    p("server.ext"),
  );
  return {
    dir,
    caPath: p("ca.pem"),
    ca: readFileSync(p("ca.pem")),
    cert: readFileSync(p("server.pem")),
    key: readFileSync(p("server.key")),
  };
}
