/**
 * Access to the objects below an `s3://BUCKET/PREFIX` destination, shared by its layouts (the lake,
 * the stream): credentials and region from the standard AWS chain, a custom endpoint from
 * `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` (MinIO, Ceph, R2, a local test server), bounded
 * timeouts and body reads, and every failure as one line: a refusal (no bucket, bad credentials)
 * is a {@link SyncUsageError} naming the destination, anything else a plain Error. Keys are relative
 * to the target's prefix. No secret is ever put into a message.
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { registerSecret } from "@clarifai-audit/client/internal/domain/redact.js";
import { SyncUsageError } from "../store.js";
import { describeS3Failure, isPreconditionFailure, PreconditionFailedError } from "./bucketErrors.js";
import { keyOf, type S3Target } from "./url.js";

export { PreconditionFailedError } from "./bucketErrors.js";

/** The objects below one destination's prefix. Keys are relative to the prefix. */
export interface Bucket {
  /** `s3://bucket/prefix`: for messages. */
  readonly description: string;
  /** The object's bytes and ETag; undefined when there is none. Refuses a body over `maxBytes` (default 64 MiB). */
  get(key: string, o?: { maxBytes?: number }): Promise<{ body: Buffer; etag: string } | undefined>;
  /**
   * Stores `body` under `key`. `ifNoneMatch`: only when no object is there; `ifMatch`: only when the
   * object there has that ETag (needs {@link conditionalWrites}); a lost condition throws
   * {@link PreconditionFailedError}.
   */
  put(
    key: string,
    body: Buffer | Uint8Array,
    o?: { ifNoneMatch?: boolean; ifMatch?: string; contentType?: string; contentEncoding?: string },
  ): Promise<{ etag: string }>;
  /** Uploads the local file `path` to `key`. */
  putFile(key: string, path: string): Promise<{ etag: string }>;
  /** Server-side copy (no bytes through this process). */
  copy(from: string, to: string): Promise<void>;
  /** Deletes the objects (a missing one is not an error). */
  delete(keys: readonly string[]): Promise<void>;
  /** Every object whose key starts with `prefix`, in key order (after the key `o.startAfter` only). */
  list(
    prefix: string,
    o?: { startAfter?: string },
  ): AsyncIterable<{ key: string; size: number; etag: string }>;
  /** Whether the server honours If-None-Match and If-Match on PutObject (probed at open). */
  readonly conditionalWrites: boolean;
  close(): void;
}

/** Largest body {@link Bucket.get} reads unless told otherwise. */
export const DEFAULT_MAX_GET_BYTES = 64 * 1024 * 1024;
/** A connection not made in this time fails (and is retried by the SDK). */
const CONNECTION_TIMEOUT_MS = 10_000;
/** A request whose socket stays idle this long fails (and is retried). */
const REQUEST_TIMEOUT_MS = 60_000;
/** The listing {@link S3Bucket.check} asks for: the keys of this tool's state and lock objects. */
const CHECK_PREFIX = "_clarifai_sync";
/** Deletions sent at once. */
const DELETE_CONCURRENCY = 8;

/** The environment a bucket is opened with (the process's, or a test's). */
export type S3Env = Readonly<Record<string, string | undefined>>;

/** The endpoint the environment names, checked; undefined for AWS itself. */
export function endpointOf(env: S3Env): { url: URL; variable: string } | undefined {
  for (const variable of ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]) {
    const text = env[variable];
    if (text === undefined || text === "") continue;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw SyncUsageError.store(`${variable} is not a URL`, "http://HOST:PORT or https://HOST:PORT");
    }
    if ((url.protocol !== "http:" && url.protocol !== "https:") || url.username !== "" || url.password !== "")
      throw SyncUsageError.store(
        `${variable} must be an http(s) URL without credentials`,
        "http://HOST:PORT or https://HOST:PORT",
      );
    return { url, variable };
  }
  return undefined;
}

/** Whether virtual-hosted names (BUCKET.HOST) cannot work for this host: an IP address or localhost. */
function needsPathStyle(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  return (
    h === "localhost" || h.endsWith(".localhost") || /^\d{1,3}(\.\d{1,3}){3}$/.test(h) || h.includes(":")
  );
}

/** The SDK's configuration for `target` in `env`: the default chain unless `env` names credentials. */
function clientConfig(target: S3Target, env: S3Env): S3ClientConfig {
  const endpoint = endpointOf(env);
  const config: S3ClientConfig = {
    forcePathStyle: target.pathStyle ?? (endpoint !== undefined && needsPathStyle(endpoint.url.hostname)),
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS },
    // Checksums only where S3 requires them: S3-compatible servers do not all know the newer
    // flexible checksums (and their aws-chunked uploads).
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    followRegionRedirects: true,
    maxAttempts: 3,
  };
  if (endpoint !== undefined) config.endpoint = endpoint.url.toString().replace(/\/$/, "");
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (region) config.region = region;
  if (env.AWS_PROFILE) config.profile = env.AWS_PROFILE;
  const id = env.AWS_ACCESS_KEY_ID;
  const secret = env.AWS_SECRET_ACCESS_KEY;
  if (id && secret) {
    registerSecret(secret);
    registerSecret(env.AWS_SESSION_TOKEN);
    config.credentials = {
      accessKeyId: id,
      secretAccessKey: secret,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    };
  }
  return config;
}

/** Makes the client; a region the chain cannot find is us-east-1 (S3 redirects to the bucket's own). */
async function makeClient(target: S3Target, env: S3Env): Promise<S3Client> {
  const config = clientConfig(target, env);
  let client = new S3Client(config);
  if (config.region === undefined) {
    try {
      await client.config.region();
    } catch {
      client.destroy();
      client = new S3Client({ ...config, region: "us-east-1" });
    }
  }
  return client;
}

/**
 * A key's segment in a copy source (URL-encoded, as S3 wants): `=` stays as it is, which S3 reads
 * either way and some S3-compatible servers (s3rver) decode no other way (`date=…` partitions).
 */
function copySourcePart(segment: string): string {
  return encodeURIComponent(segment).replaceAll("%3D", "=");
}

class S3Bucket implements Bucket {
  readonly description: string;
  conditionalWrites = false;
  readonly #target: S3Target;
  readonly #client: S3Client;
  readonly #endpoint: string;

  constructor(target: S3Target, client: S3Client, endpoint: string) {
    this.description =
      target.layout === "lake" ? target.description : (target.description.split("?")[0] as string);
    this.#target = target;
    this.#client = client;
    this.#endpoint = endpoint;
  }

  /** Runs one request; every failure becomes one line (see bucketErrors.ts). */
  async #send<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (isPreconditionFailure(error)) throw new PreconditionFailedError(`${this.description}: ${what}`);
      throw describeS3Failure(error, {
        destination: this.description,
        bucket: this.#target.bucket,
        what,
        endpoint: this.#endpoint,
      });
    }
  }

  #key(key: string): string {
    return keyOf(this.#target, key);
  }

  async get(key: string, o: { maxBytes?: number } = {}): Promise<{ body: Buffer; etag: string } | undefined> {
    const max = o.maxBytes ?? DEFAULT_MAX_GET_BYTES;
    return this.#send(`reading ${key}`, async () => {
      let reply: GetObjectCommandOutput;
      try {
        reply = await this.#client.send(
          new GetObjectCommand({ Bucket: this.#target.bucket, Key: this.#key(key) }),
        );
      } catch (error) {
        if ((error as { name?: string }).name === "NoSuchKey") return undefined;
        throw error;
      }
      const body = reply.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
      if ((reply.ContentLength ?? 0) > max) {
        body?.destroy?.();
        throw new Error(
          `${this.description}: ${key} is ${reply.ContentLength} bytes, more than the ${max} read`,
        );
      }
      const chunks: Buffer[] = [];
      let size = 0;
      if (body !== undefined)
        for await (const chunk of body) {
          size += chunk.length;
          if (size > max) {
            body.destroy?.();
            throw new Error(`${this.description}: ${key} is more than the ${max} bytes read`);
          }
          chunks.push(Buffer.from(chunk));
        }
      return { body: Buffer.concat(chunks, size), etag: reply.ETag ?? "" };
    });
  }

  async put(
    key: string,
    body: Buffer | Uint8Array,
    o: { ifNoneMatch?: boolean; ifMatch?: string; contentType?: string; contentEncoding?: string } = {},
  ): Promise<{ etag: string }> {
    return this.#send(`writing ${key}`, async () => {
      const reply = await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#target.bucket,
          Key: this.#key(key),
          Body: body,
          ContentLength: body.byteLength,
          ...(o.ifNoneMatch ? { IfNoneMatch: "*" } : {}),
          ...(o.ifMatch !== undefined ? { IfMatch: o.ifMatch } : {}),
          ...(o.contentType !== undefined ? { ContentType: o.contentType } : {}),
          ...(o.contentEncoding !== undefined ? { ContentEncoding: o.contentEncoding } : {}),
        }),
      );
      return { etag: reply.ETag ?? "" };
    });
  }

  async putFile(key: string, path: string): Promise<{ etag: string }> {
    const size = (await stat(path)).size;
    return this.#send(`uploading ${key}`, async () => {
      const reply = await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#target.bucket,
          Key: this.#key(key),
          Body: createReadStream(path),
          ContentLength: size,
        }),
      );
      return { etag: reply.ETag ?? "" };
    });
  }

  async copy(from: string, to: string): Promise<void> {
    const source = `${this.#target.bucket}/${this.#key(from).split("/").map(copySourcePart).join("/")}`;
    await this.#send(`copying ${from} to ${to}`, () =>
      this.#client.send(
        new CopyObjectCommand({ Bucket: this.#target.bucket, Key: this.#key(to), CopySource: source }),
      ),
    );
  }

  async delete(keys: readonly string[]): Promise<void> {
    // One request per key: multi-object delete needs a checksum header some S3-compatible servers
    // reject, and a commit deletes a few objects at a time.
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const key = keys[next++] as string;
        await this.#send(`deleting ${key}`, () =>
          this.#client.send(new DeleteObjectCommand({ Bucket: this.#target.bucket, Key: this.#key(key) })),
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, worker));
  }

  async *list(
    prefix: string,
    o: { startAfter?: string } = {},
  ): AsyncIterable<{ key: string; size: number; etag: string }> {
    const base = this.#target.prefix === "" ? 0 : this.#target.prefix.length + 1;
    let token: string | undefined;
    do {
      const page = await this.#send(`listing ${prefix === "" ? "the prefix" : prefix}`, () =>
        this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.#target.bucket,
            Prefix: this.#key(prefix),
            ...(o.startAfter !== undefined ? { StartAfter: this.#key(o.startAfter) } : {}),
            ...(token !== undefined ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      for (const o of page.Contents ?? [])
        if (o.Key !== undefined) yield { key: o.Key.slice(base), size: o.Size ?? 0, etag: o.ETag ?? "" };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /**
   * Proves the bucket exists and these credentials may list it. The listing is of a name prefix few
   * keys have (not MaxKeys 1: a truncated listing needs a continuation token, which s3rver cannot
   * make on OpenSSL 3), so it costs one small reply.
   */
  async check(): Promise<void> {
    await this.#send("listing the prefix", () =>
      this.#client.send(
        new ListObjectsV2Command({ Bucket: this.#target.bucket, Prefix: this.#key(CHECK_PREFIX) }),
      ),
    );
  }

  /**
   * Whether PutObject honours If-None-Match: * and If-Match (AWS since 2024, MinIO, recent Ceph):
   * a throwaway object of this run is written, then written again under conditions that must fail.
   * A server that ignores the headers (s3rver) or refuses them as not implemented has none.
   */
  async probeConditionalWrites(): Promise<boolean> {
    const key = `_clarifai_probe/${randomBytes(8).toString("hex")}`;
    const body = Buffer.from("probe\n");
    try {
      await this.put(key, body, { ifNoneMatch: true });
    } catch (error) {
      if (error instanceof SyncUsageError) throw error;
      return false;
    }
    try {
      const refused = async (o: { ifNoneMatch?: boolean; ifMatch?: string }) => {
        try {
          await this.put(key, body, o);
          return false;
        } catch (error) {
          if (error instanceof PreconditionFailedError) return true;
          if (error instanceof SyncUsageError) throw error;
          return false;
        }
      };
      return (await refused({ ifNoneMatch: true })) && (await refused({ ifMatch: '"0"' }));
    } finally {
      await this.delete([key]);
    }
  }

  close(): void {
    this.#client.destroy();
  }
}

/**
 * Opens the objects of `target`: checks the bucket can be listed there (a missing bucket or bad
 * credentials: {@link SyncUsageError}, one line naming the destination) and probes conditional writes.
 */
export async function openBucket(target: S3Target, env: S3Env): Promise<Bucket> {
  const endpoint = endpointOf(env)?.url.host ?? "s3.amazonaws.com";
  const client = await makeClient(target, env);
  const bucket = new S3Bucket(target, client, endpoint);
  try {
    await bucket.check();
    bucket.conditionalWrites = await bucket.probeConditionalWrites();
  } catch (error) {
    bucket.close();
    throw error;
  }
  return bucket;
}
