/**
 * HTTP CONNECT proxies named by the environment (grpc_proxy > https_proxy > http_proxy, skipped by
 * no_grpc_proxy/no_proxy or `grpc.enable_http_proxy: 0`), through a real in-process proxy on
 * 127.0.0.1 to the emulator, plaintext and TLS.
 */
import { rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { inspect } from "node:util";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { type AuditLogClientOptions, resolveConfig } from "../../packages/client/src/client/config.js";
import {
  MAX_CONNECT_REPLY_HEADER_BYTES,
  noProxyMatches,
} from "../../packages/client/src/client/transport/httpProxy.js";
import {
  CanceledError,
  TimeoutError,
  UnavailableError,
  ValidationError,
} from "../../packages/client/src/errors.js";
import { type EmulatorHandle, startEmulator } from "../../packages/emulator/src/index.js";
import { makeTestTls, type TestTls } from "../helpers/tls.js";
import { waitFor } from "../helpers/waitFor.js";
import { EXTRA_ENTRIES, failure, PAT } from "./fixtures.js";

const PASSWORD = "pw-PROXYLEAK-7c1e";
const PROXY_VARIABLES = ["grpc_proxy", "https_proxy", "http_proxy", "no_grpc_proxy", "no_proxy"];

type Mode = "tunnel" | "silent" | "huge-headers";

/** An HTTP CONNECT proxy on 127.0.0.1 that records what it was asked. */
interface Proxy {
  url: string;
  port: number;
  /** The CONNECT targets asked for, in order. */
  connects: string[];
  /** The Proxy-Authorization headers received. */
  authorizations: (string | undefined)[];
  /** Client sockets that closed (a silent proxy's client gave up). */
  closed: number;
  close(): Promise<void>;
}

async function startProxy(mode: Mode, basicAuth?: string): Promise<Proxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer();
  const proxy: Proxy = {
    url: "",
    port: 0,
    connects: [],
    authorizations: [],
    closed: 0,
    close: async () => {},
  };
  server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on("close", () => {
      sockets.delete(client);
      proxy.closed++;
    });
    client.on("error", () => {});
    proxy.connects.push(String(req.url));
    const auth = req.headers["proxy-authorization"];
    proxy.authorizations.push(auth);
    if (basicAuth !== undefined && auth !== `Basic ${Buffer.from(basicAuth).toString("base64")}`) {
      client.end("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n");
      return;
    }
    if (mode === "silent") {
      // Server sockets stay half-open: end ours when the client gives up.
      client.on("end", () => client.end());
      client.resume();
      return;
    }
    if (mode === "huge-headers") {
      client.end(`HTTP/1.1 200 OK\r\nX-Pad: ${"a".repeat(MAX_CONNECT_REPLY_HEADER_BYTES * 2)}\r\n\r\n`);
      return;
    }
    const [host, port] = splitAuthority(String(req.url));
    const upstream = connect(port, host === "localhost" ? "127.0.0.1" : host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.port = (server.address() as AddressInfo).port;
  proxy.url = `http://127.0.0.1:${proxy.port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return proxy;
}

function splitAuthority(authority: string): [string, number] {
  const colon = authority.lastIndexOf(":");
  return [authority.slice(0, colon).replace(/^\[|\]$/g, ""), Number(authority.slice(colon + 1))];
}

let emu: EmulatorHandle;
let tlsEmu: EmulatorHandle;
let tls: TestTls;
const clients: AuditLogClient[] = [];
const proxies: Proxy[] = [];

beforeAll(async () => {
  tls = makeTestTls();
  emu = await startEmulator({ pats: { [PAT]: "alfrick" }, entries: EXTRA_ENTRIES, restPort: false });
  tlsEmu = await startEmulator({
    pats: { [PAT]: "alfrick" },
    entries: EXTRA_ENTRIES,
    restPort: false,
    tls: { cert: tls.cert, key: tls.key },
  });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const p of proxies.splice(0)) await p.close();
});
afterAll(async () => {
  await emu.close();
  await tlsEmu.close();
  rmSync(tls.dir, { recursive: true, force: true });
});

async function proxy(mode: Mode = "tunnel", basicAuth?: string): Promise<Proxy> {
  const p = await startProxy(mode, basicAuth);
  proxies.push(p);
  return p;
}

/**
 * A client made with `env`'s proxy variables in process.env (the client reads the environment
 * only when made), restored right after.
 */
function client(env: Record<string, string>, options: AuditLogClientOptions = {}): AuditLogClient {
  const saved = PROXY_VARIABLES.map((name) => [name, process.env[name]] as const);
  try {
    for (const name of PROXY_VARIABLES) delete process.env[name];
    Object.assign(process.env, env);
    const c = new AuditLogClient({
      pat: PAT,
      userId: "alfrick",
      endpoint: emu.grpcAddress,
      insecure: true,
      retry: false,
      ...options,
    });
    clients.push(c);
    return c;
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

const withAuth = (url: string, user: string, password: string) =>
  url.replace("http://", `http://${user}:${password}@`);

describe("through an HTTP CONNECT proxy", () => {
  it("searches through the proxy, which is asked for the endpoint's authority", async () => {
    const p = await proxy();
    const page = await client({ grpc_proxy: p.url }).search();
    expect(page.entries).toHaveLength(EXTRA_ENTRIES.length);
    expect(p.connects).toEqual([emu.grpcAddress]);
    expect(p.authorizations).toEqual([undefined]);
  });

  it("takes grpc_proxy over https_proxy over http_proxy", async () => {
    const [a, b, c] = [await proxy(), await proxy(), await proxy()];
    await client({ grpc_proxy: a.url, https_proxy: b.url, http_proxy: c.url }).search();
    await client({ https_proxy: b.url, http_proxy: c.url }).search();
    await client({ http_proxy: c.url }).search();
    expect([a.connects.length, b.connects.length, c.connects.length]).toEqual([1, 1, 1]);
  });

  it("speaks TLS through the tunnel, trusting the given CA and checking the host name", async () => {
    const p = await proxy();
    const endpoint = `localhost:${tlsEmu.grpcAddress.split(":").pop()}`;
    const page = await client(
      { https_proxy: p.url },
      { endpoint, insecure: false, rootCerts: tls.ca },
    ).search();
    expect(page.entries).toHaveLength(EXTRA_ENTRIES.length);
    expect(p.connects).toEqual([endpoint]);
    // Without the CA the handshake inside the tunnel fails as it does directly.
    const e = await failure(client({ https_proxy: p.url }, { endpoint, insecure: false }).search());
    expect(e).toBeInstanceOf(UnavailableError);
    expect(p.connects).toHaveLength(2);
  });

  it("sends the URL's user info as Basic auth, and a 407 fails without the password", async () => {
    const p = await proxy("tunnel", `proxyuser:${PASSWORD}`);
    const good = client({ grpc_proxy: withAuth(p.url, "proxyuser", PASSWORD) });
    await good.search();
    expect(p.authorizations).toEqual([`Basic ${Buffer.from(`proxyuser:${PASSWORD}`).toString("base64")}`]);
    for (const shown of [inspect(good), String(good), JSON.stringify(good)])
      expect(shown).not.toContain(PASSWORD);

    const bad = client(
      { grpc_proxy: withAuth(p.url, "proxyuser", "wrong-PROXYLEAK") },
      { retry: { maxAttempts: 2 } },
    );
    const e = await failure(bad.search());
    expect(e).toBeInstanceOf(UnavailableError);
    expect(e.message).toContain(`the proxy ${p.url} refused the tunnel`);
    expect(e.message).toContain("407 Proxy Authentication Required");
    expect(`${e.message} ${inspect(e)} ${JSON.stringify(e)}`).not.toMatch(/PROXYLEAK|proxyuser/);
    // Retried as a refused connection is.
    expect(e.attempts).toBe(2);
    expect(p.connects).toHaveLength(3);
  });

  it("connects directly to hosts no_proxy or no_grpc_proxy exempts", async () => {
    const p = await proxy();
    for (const exempt of <Record<string, string>[]>[
      { no_proxy: "example.com, 127.0.0.1" },
      { no_proxy: "127.0.0.0/8" },
      { no_grpc_proxy: "0.0.1", no_proxy: "unrelated.example" },
    ]) {
      await client({ grpc_proxy: p.url, ...exempt }).search();
    }
    expect(p.connects).toEqual([]);
    // no_grpc_proxy, when set, replaces no_proxy.
    await client({ grpc_proxy: p.url, no_grpc_proxy: "example.com", no_proxy: "127.0.0.1" }).search();
    expect(p.connects).toHaveLength(1);
  });

  it("connects directly with grpc.enable_http_proxy: 0", async () => {
    const p = await proxy();
    await client({ grpc_proxy: p.url }, { channelOptions: { "grpc.enable_http_proxy": 0 } }).search();
    expect(p.connects).toEqual([]);
    await client({ grpc_proxy: p.url }, { channelOptions: { "grpc.enable_http_proxy": 1 } }).search();
    expect(p.connects).toHaveLength(1);
  });

  it("fails with UnavailableError when the proxy refuses the TCP connection", async () => {
    const p = await startProxy("tunnel");
    await p.close();
    const e = await failure(client({ grpc_proxy: p.url }).search());
    expect(e).toBeInstanceOf(UnavailableError);
    expect(e.message).toContain(`through the proxy ${p.url}: ECONNREFUSED`);
  });

  it("bounds a proxy that never answers CONNECT by the deadline, and abandons the tunnel", async () => {
    const p = await proxy("silent");
    const e = await failure(client({ grpc_proxy: p.url }, { timeoutMs: 300 }).search());
    expect(e).toBeInstanceOf(TimeoutError);
    expect(p.connects).toHaveLength(1);
    await waitFor(() => p.closed === 1, { what: "the proxy to see the tunnel closed" });
  });

  it("abandons the tunnel when the call is aborted while the proxy has not answered", async () => {
    const p = await proxy("silent");
    const controller = new AbortController();
    const call = client({ grpc_proxy: p.url }).search({}, { signal: controller.signal });
    await waitFor(() => p.connects.length === 1, { what: "the CONNECT" });
    controller.abort();
    expect(await failure(call)).toBeInstanceOf(CanceledError);
    await waitFor(() => p.closed === 1, { what: "the proxy to see the tunnel closed" });
  });

  it("opens one tunnel for the calls that wait for it together, and reuses its connection", async () => {
    const p = await proxy();
    const c = client({ grpc_proxy: p.url });
    const pages = await Promise.all([c.search(), c.search(), c.search()]);
    await c.search();
    expect(pages.map((page) => page.entries.length)).toEqual([4, 4, 4].map(() => EXTRA_ENTRIES.length));
    expect(p.connects).toHaveLength(1);
  });

  it("refuses CONNECT reply headers over the size cap", async () => {
    const p = await proxy("huge-headers");
    const e = await failure(client({ grpc_proxy: p.url }).search());
    expect(e).toBeInstanceOf(UnavailableError);
    expect(e.message).toContain(`reply headers exceed ${MAX_CONNECT_REPLY_HEADER_BYTES} bytes`);
  });
});

describe("proxy configuration", () => {
  const base = { pat: PAT, userId: "alfrick", endpoint: "api.example.com:443" };
  const resolve = (env: NodeJS.ProcessEnv) => resolveConfig(base, env).transport.proxy;

  it("reads the lower-case variables only, as grpc-js does", () => {
    expect(
      resolve({ GRPC_PROXY: "http://p:1", HTTPS_PROXY: "http://p:1", HTTP_PROXY: "http://p:1" }),
    ).toBeUndefined();
    expect(resolve({ http_proxy: "http://proxy.internal" })).toMatchObject({
      host: "proxy.internal",
      port: 80,
      display: "http://proxy.internal:80",
    });
  });

  it("refuses a malformed proxy URL at construction, naming the variable but not the URL", () => {
    for (const [env, problem] of [
      [{ https_proxy: `https://u:${PASSWORD}@proxy:3128` }, "the proxy scheme must be http:"],
      [{ grpc_proxy: `u:${PASSWORD}@proxy:3128` }, "the proxy scheme must be http:"],
      [{ http_proxy: `not a url ${PASSWORD}` }, "not a URL"],
    ] as const) {
      let error: unknown;
      try {
        resolve(env);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ValidationError);
      const v = error as ValidationError;
      expect(v.field).toBe(Object.keys(env)[0]);
      expect(v.message).toContain(problem);
      expect(v.message).toContain("http://[user:password@]host[:port]");
      expect(v.message).not.toContain(PASSWORD);
    }
  });

  it("matches no_proxy entries as grpc-js does: suffixes and IPv4 CIDR ranges", () => {
    expect(noProxyMatches("api.example.com", "example.com")).toBe(true);
    expect(noProxyMatches("api.example.com", ".example.com")).toBe(true);
    expect(noProxyMatches("api.example.com", "other.com,  api.example.com ")).toBe(true);
    expect(noProxyMatches("example.org", "example.com")).toBe(false);
    expect(noProxyMatches("10.1.2.3", "10.0.0.0/8")).toBe(true);
    expect(noProxyMatches("11.1.2.3", "10.0.0.0/8")).toBe(false);
    expect(noProxyMatches("10.1.2.3", "0.0.0.0/0")).toBe(true);
    // An empty entry (a trailing comma) exempts nothing.
    expect(noProxyMatches("api.example.com", "other.com,")).toBe(false);
    expect(resolve({ grpc_proxy: "http://p:1", no_proxy: "example.com" })).toBeUndefined();
  });

  it("accepts grpc.enable_http_proxy 0 or 1 only", () => {
    expect(() =>
      resolveConfig(
        { ...base, channelOptions: { "grpc.enable_http_proxy": 2 } },
        { grpc_proxy: "http://p:1" },
      ),
    ).toThrow(/grpc\.enable_http_proxy: invalid channel option .*allowed: 0 or 1/);
    expect(
      resolveConfig({ ...base, channelOptions: { "grpc.enable_http_proxy": 0 } }, { grpc_proxy: "ftp://x" })
        .transport.proxy,
    ).toBeUndefined();
  });
});
