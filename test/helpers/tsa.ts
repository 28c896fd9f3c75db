/**
 * A time-stamping authority for tests: a throwaway CA and TSA certificate made with the openssl CLI
 * (extendedKeyUsage critical,timeStamping), and an HTTP server on 127.0.0.1 answering each POST
 * with `openssl ts -reply` (RFC 3161 over HTTP). It can misbehave on demand (`mode`), so tests see
 * how the stamper takes a rejection, a reply to another request, garbage, a huge body or silence.
 */
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as pkijs from "pkijs";

const run = promisify(execFile);

/** How the server answers the next requests. */
export type TsaMode =
  | "ok"
  /** A real rejection by openssl (the reply to a SHA-1 query, which the config does not accept). */
  | "reject"
  /** A good token for another hash (openssl's reply to another query). */
  | "wrongImprint"
  /** A good token for the hash, from a query without a nonce. */
  | "noNonce"
  /** A good token for the hash, from a query with another nonce. */
  | "otherNonce"
  /** Random bytes with status 200. */
  | "garbage"
  /** 100 KiB with a Content-Length. */
  | "huge"
  /** 100 KiB streamed without a Content-Length. */
  | "hugeChunked"
  /** Never answers. */
  | "hang"
  /** HTTP 500. */
  | "error500"
  /** HTTP 404. */
  | "notFound";

export interface TestTsa {
  url: string;
  dir: string;
  caCertPem: string;
  tsaCertPem: string;
  caPath: string;
  tsaCertPath: string;
  /** POSTs received. */
  requests: number;
  /** The Authorization header of the last request. */
  lastAuthorization: string | undefined;
  /** The next requests' treatment. */
  mode: TsaMode;
  /** Requests answered HTTP 500 before the mode applies (then counted down). */
  failFirst: number;
  /** The openssl ts configuration used. */
  config: string;
  close(): Promise<void>;
}

export interface TestTsaOptions {
  /** Serve https with this certificate and key (e.g. test/helpers/tls.ts makeTestTls). */
  tls?: { cert: Buffer; key: Buffer };
  /** The TSA certificate's subject CN. */
  name?: string;
  /** The hash of the ESS signing-certificate attribute: sha256 (ESSCertIDv2, default) or sha1 (v1). */
  essCertIdAlg?: "sha1" | "sha256";
}

/** The `[ tsa ]` configuration of `openssl ts -reply` for the files in `dir`. */
export function tsaConfig(dir: string, essCertIdAlg: "sha1" | "sha256" = "sha256"): string {
  return `[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
dir = ${dir}
serial = $dir/serial
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.55555.1
other_policies = 1.3.6.1.4.1.55555.2
digests = sha256, sha384, sha512
accuracy = secs:1
clock_precision_digits = 0
ordering = no
tsa_name = yes
ess_cert_id_chain = yes
ess_cert_id_alg = ${essCertIdAlg}
`;
}

function ssl(...args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** A CA and a certificate it issues with `ext` (an openssl extension file's text). */
export function makeCa(dir: string, prefix: string, cn: string): void {
  const p = (f: string) => join(dir, f);
  ssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    `/CN=${cn}`,
    "-keyout",
    p(`${prefix}.key`),
    "-out",
    p(`${prefix}.pem`),
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
}

/** A certificate for `cn` issued by the CA `ca` (files `ca.pem`, `ca.key` in `dir`) with `ext`. */
export function issue(dir: string, ca: string, prefix: string, cn: string, ext: string): void {
  const p = (f: string) => join(dir, f);
  ssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    `/CN=${cn}`,
    "-keyout",
    p(`${prefix}.key`),
    "-out",
    p(`${prefix}.csr`),
  );
  writeFileSync(p(`${prefix}.ext`), ext);
  ssl(
    "x509",
    "-req",
    "-in",
    p(`${prefix}.csr`),
    "-CA",
    p(`${ca}.pem`),
    "-CAkey",
    p(`${ca}.key`),
    "-CAcreateserial",
    "-days",
    "2",
    "-out",
    p(`${prefix}.pem`),
    "-extfile",
    p(`${prefix}.ext`),
  );
}

/** The extensions of a TSA certificate (RFC 3161 2.3: the one EKU, critical). */
export const TSA_EXT =
  "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\n";

/** The SHA-256 imprint of a DER TimeStampReq. */
function imprintOf(der: Buffer): Buffer {
  const req = pkijs.TimeStampReq.fromBER(new Uint8Array(der));
  return Buffer.from(req.messageImprint.hashedMessage.valueBlock.valueHexView);
}

/** Starts a TSA; see the module comment. */
export async function startTestTsa(options: TestTsaOptions = {}): Promise<TestTsa> {
  const dir = mkdtempSync(join(tmpdir(), "clarifai-audit-tsa-"));
  const p = (f: string) => join(dir, f);
  makeCa(dir, "ca", `clarifai-audit test TSA CA ${randomBytes(3).toString("hex")}`);
  issue(dir, "ca", "tsa", options.name ?? "clarifai-audit test TSA", TSA_EXT);
  writeFileSync(p("serial"), "01\n");
  const config = tsaConfig(dir, options.essCertIdAlg);
  writeFileSync(p("tsa.cnf"), config);
  let n = 0;
  // openssl rewrites the serial file: one reply at a time.
  let queue: Promise<unknown> = Promise.resolve();
  const reply = (query: Buffer): Promise<Buffer> => {
    const id = ++n;
    const job = queue.then(async () => {
      writeFileSync(p(`q${id}.tsq`), query);
      await run("openssl", [
        "ts",
        "-reply",
        "-config",
        p("tsa.cnf"),
        "-queryfile",
        p(`q${id}.tsq`),
        "-out",
        p(`r${id}.tsr`),
      ]);
      return readFileSync(p(`r${id}.tsr`));
    });
    queue = job.catch(() => undefined);
    return job;
  };
  const query = async (digest: Buffer, ...flags: string[]): Promise<Buffer> => {
    const out = p(`made${++n}.tsq`);
    await run("openssl", ["ts", "-query", "-digest", digest.toString("hex"), ...flags, "-cert", "-out", out]);
    return readFileSync(out);
  };
  const tsa: TestTsa = {
    url: "",
    dir,
    caCertPem: readFileSync(p("ca.pem"), "utf8"),
    tsaCertPem: readFileSync(p("tsa.pem"), "utf8"),
    caPath: p("ca.pem"),
    tsaCertPath: p("tsa.pem"),
    requests: 0,
    lastAuthorization: undefined,
    mode: "ok",
    failFirst: 0,
    config,
    close: async () => undefined,
  };
  const answer = async (body: Buffer, res: ServerResponse): Promise<void> => {
    const send = (der: Buffer) => {
      res.writeHead(200, { "content-type": "application/timestamp-reply", "content-length": der.length });
      res.end(der);
    };
    if (tsa.failFirst > 0) {
      tsa.failFirst--;
      res.writeHead(500).end("busy");
      return;
    }
    switch (tsa.mode) {
      case "ok":
        return send(await reply(body));
      case "reject":
        return send(await reply(await query(randomBytes(20), "-sha1")));
      case "wrongImprint":
        return send(await reply(await query(randomBytes(32), "-sha256")));
      case "noNonce":
        return send(await reply(await query(imprintOf(body), "-sha256", "-no_nonce")));
      case "otherNonce":
        return send(await reply(await query(imprintOf(body), "-sha256")));
      case "garbage":
        return send(randomBytes(300));
      case "huge":
        return send(Buffer.alloc(100 * 1024, 0x30));
      case "hugeChunked": {
        res.writeHead(200, { "content-type": "application/timestamp-reply" });
        for (let i = 0; i < 100; i++) res.write(Buffer.alloc(1024, 0x30));
        res.end();
        return;
      }
      case "hang":
        return;
      case "error500":
        res.writeHead(500).end("internal error");
        return;
      case "notFound":
        res.writeHead(404).end("not found");
        return;
    }
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      tsa.requests++;
      tsa.lastAuthorization = req.headers.authorization;
      if (req.method !== "POST" || req.headers["content-type"] !== "application/timestamp-query") {
        res.writeHead(400).end("not a time-stamp query");
        return;
      }
      answer(Buffer.concat(chunks), res).catch((e: unknown) => {
        res.writeHead(500).end(String(e));
      });
    });
  };
  const server: Server =
    options.tls !== undefined ? createHttpsServer(options.tls, handler) : createServer(handler);
  const sockets = new Set<import("node:net").Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as import("node:net").AddressInfo).port;
  tsa.url = `${options.tls !== undefined ? "https" : "http"}://127.0.0.1:${port}/tsa`;
  tsa.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await queue;
    rmSync(dir, { recursive: true, force: true });
  };
  return tsa;
}
