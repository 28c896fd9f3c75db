/**
 * HTTP proxies, as grpc-js used them (its src/http_proxy.ts): the proxy URL of `grpc_proxy`, else
 * `https_proxy`, else `http_proxy` (lower case only, as grpc-js reads them), skipped for hosts that
 * `no_grpc_proxy` (else `no_proxy`) lists, and an HTTP CONNECT tunnel through it that the HTTP/2
 * connection then runs over. The environment itself is read in packages/client/src/client/config.ts.
 */
import { request as httpRequest } from "node:http";
import { isIPv4, type Socket } from "node:net";
import { ClarifaiAuditError } from "../../domain/errors.js";
import { REDACTED } from "../../domain/redact.js";
import { ValidationError } from "../../errors.js";

/** A proxy to tunnel through. Its user info never leaves this object but as the header. */
export interface HttpProxy {
  host: string;
  port: number;
  /** `Basic …` from the URL's user info, when it has one. */
  authorization?: string;
  /** The proxy as `http://host:port`: safe to print. */
  display: string;
}

/**
 * Parses a proxy URL `http://[user[:password]@]host[:port]` (port 80 by default).
 * @param variable the environment variable it came from, named in the error.
 * @throws ValidationError that names `variable` but never quotes the URL (it may hold a password).
 */
export function parseProxyUrl(text: string, variable: string): HttpProxy {
  const allowed = "http://[user:password@]host[:port]";
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValidationError(variable, REDACTED, allowed, "not a URL");
  }
  if (url.protocol !== "http:") {
    throw new ValidationError(
      variable,
      REDACTED,
      allowed,
      `the proxy scheme must be http: (a CONNECT proxy), not ${url.protocol}`,
    );
  }
  if (url.hostname === "") throw new ValidationError(variable, REDACTED, allowed, "no proxy host");
  const port = url.port === "" ? 80 : Number(url.port);
  const proxy: HttpProxy = {
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port,
    display: `http://${url.hostname}:${port}`,
  };
  if (url.username !== "") {
    let creds: string;
    try {
      creds = decodeURIComponent(url.password === "" ? url.username : `${url.username}:${url.password}`);
    } catch {
      throw new ValidationError(variable, REDACTED, allowed, "malformed percent-encoding in the user info");
    }
    proxy.authorization = `Basic ${Buffer.from(creds).toString("base64")}`;
  }
  return proxy;
}

/**
 * Whether `host` is exempt from the proxy by a `no_proxy` list, by grpc-js's rule: an entry that is
 * an IPv4 CIDR range containing `host`, or a suffix of `host` (so `example.com` also exempts
 * `api.example.com`, and an address exempts itself). Entries are trimmed and empty ones ignored
 * (grpc-js let an empty entry, as from a trailing comma, exempt every host).
 */
export function noProxyMatches(host: string, list: string): boolean {
  for (const raw of list.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const cidr = parseCidr(entry);
    if (cidr !== undefined && isIPv4(host)) {
      const mask = cidr.prefix === 0 ? 0 : (-1 << (32 - cidr.prefix)) >>> 0;
      if ((ipv4ToInt(host) & mask) >>> 0 === (cidr.ip & mask) >>> 0) return true;
    } else if (host.endsWith(entry)) return true;
  }
  return false;
}

function parseCidr(entry: string): { ip: number; prefix: number } | undefined {
  const [ip, bits, extra] = entry.split("/");
  if (ip === undefined || bits === undefined || extra !== undefined || !isIPv4(ip) || !/^\d+$/.test(bits)) {
    return undefined;
  }
  const prefix = Number(bits);
  return prefix <= 32 ? { ip: ipv4ToInt(ip), prefix } : undefined;
}

const ipv4ToInt = (ip: string): number => ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);

/** The most bytes of CONNECT reply headers read: a proxy sending more is refused. */
export const MAX_CONNECT_REPLY_HEADER_BYTES = 16 * 1024;

/** Why a tunnel could not be made; `message` names the proxy without its user info. */
export class ProxyTunnelError extends ClarifaiAuditError {
  override name = "ProxyTunnelError";
}

/**
 * Opens a CONNECT tunnel to `authority` (`host:port`) through `proxy`; resolves with the socket,
 * ready for TLS or plaintext HTTP/2. Aborting `signal` destroys it.
 * @throws ProxyTunnelError when the proxy cannot be reached, answers other than 2xx, sends reply
 * headers over {@link MAX_CONNECT_REPLY_HEADER_BYTES}, or closes before answering.
 */
export function openTunnel(proxy: HttpProxy, authority: string, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Host: authority };
    if (proxy.authorization !== undefined) headers["Proxy-Authorization"] = proxy.authorization;
    const req = httpRequest({
      host: proxy.host,
      port: proxy.port,
      method: "CONNECT",
      path: authority,
      headers,
      maxHeaderSize: MAX_CONNECT_REPLY_HEADER_BYTES,
      agent: false,
    });
    const where = `the proxy ${proxy.display}`;
    const fail = (message: string) => {
      signal.removeEventListener("abort", onAbort);
      req.destroy();
      reject(new ProxyTunnelError(message));
    };
    const onAbort = () => fail(`the tunnel through ${where} was abandoned`);
    signal.addEventListener("abort", onAbort, { once: true });
    req.once("connect", (res, socket, head) => {
      signal.removeEventListener("abort", onAbort);
      const status = res.statusCode ?? 0;
      if (status < 200 || status > 299) {
        socket.destroy();
        reject(
          new ProxyTunnelError(`${where} refused the tunnel: ${status} ${res.statusMessage ?? ""}`.trimEnd()),
        );
        return;
      }
      // Bytes read past the reply's headers belong to the tunnel (grpc-node#2744).
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.once("response", (res) => {
      // Not an answer to CONNECT's way of working: the proxy replied as to a plain request.
      res.destroy();
      fail(`${where} refused the tunnel: ${res.statusCode} ${res.statusMessage ?? ""}`.trimEnd());
    });
    req.once("error", (e: NodeJS.ErrnoException) => {
      const why =
        e.code === "HPE_HEADER_OVERFLOW"
          ? `its reply headers exceed ${MAX_CONNECT_REPLY_HEADER_BYTES} bytes`
          : (e.code ?? e.message);
      fail(`cannot open a tunnel through ${where}: ${why}`);
    });
    if (signal.aborted) onAbort();
    else req.end();
  });
}
