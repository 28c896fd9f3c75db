/**
 * A real S3-compatible server for tests: s3rver (npm, 3.7.1) started in this process on
 * 127.0.0.1, an ephemeral port, its objects in a temp folder. It checks requests' SigV4 signatures
 * against its one key pair (S3RVER / S3RVER), so a wrong secret is refused as AWS would refuse it. It
 * does not implement conditional writes (If-None-Match / If-Match on PutObject are ignored), so the
 * stores' fallback (lock object) is what runs against it ({@link startConditionalFront} adds them).
 * Its PutObject is made atomic, as S3's is ({@link atomicPuts}).
 *
 * `env` is what a client (in this process, or a child's environment) needs: the key pair, a region
 * and AWS_ENDPOINT_URL_S3. Start one server per test file (beforeAll), `stop` it in afterAll.
 * No jest imports here.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { createServer, request } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";

/** The part of s3rver's API used here (it ships no types). */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  store: S3rverStore;
}

/** s3rver's filesystem store, the part {@link atomicPuts} replaces. */
interface S3rverStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
  putObject(object: {
    bucket: string;
    key: string;
    content: Buffer | AsyncIterable<Buffer>;
    metadata: unknown;
  }): Promise<{ size: number; md5: string }>;
}

/**
 * Makes s3rver's PutObject atomic, as S3's is (an object is the old bytes or the new ones, never
 * part of them; an upload the client abandons stores nothing): s3rver 3.7.1 writes the object file
 * in place as the body arrives, so a client killed mid-upload left a truncated object, and a read
 * right after a write could see part of it. The stores' exactly-once rests on S3's guarantee, which
 * the tests must therefore have: the body is read whole, written beside the object and renamed
 * over it.
 */
function atomicPuts(store: S3rverStore): void {
  store.putObject = async (object) => {
    const chunks: Buffer[] = [];
    if (Buffer.isBuffer(object.content)) chunks.push(object.content);
    else for await (const chunk of object.content) chunks.push(Buffer.from(chunk));
    const body = Buffer.concat(chunks);
    const path = store.getResourcePath(object.bucket, object.key, "object");
    await mkdir(dirname(path), { recursive: true });
    // Not ending in s3rver's object suffix: never listed.
    const partial = `${path}.${randomBytes(6).toString("hex")}.partial`;
    await writeFile(partial, body);
    await rename(partial, path);
    const md5 = createHash("md5").update(body).digest("hex");
    await store.putMetadata(object.bucket, object.key, object.metadata, md5);
    return { size: body.length, md5 };
  };
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

/** A running server. */
export interface S3Server {
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  /** The environment of a client of this server (credentials, region, endpoint). */
  env: Record<string, string>;
  /** A client of this server (path-style), for tests' own reads and writes. */
  client: S3Client;
  createBucket(name: string): Promise<void>;
  /** Every key in `bucket` starting with `prefix`, sorted. */
  listKeys(bucket: string, prefix?: string): Promise<string[]>;
  /** The object's bytes; undefined when there is none. */
  readObject(bucket: string, key: string): Promise<Buffer | undefined>;
  writeObject(bucket: string, key: string, body: Buffer | string): Promise<void>;
  stop(): Promise<void>;
}

/** The key pair s3rver accepts. */
export const S3RVER_KEY = { id: "S3RVER", secret: "S3RVER" } as const;

/** Starts s3rver on 127.0.0.1 (ephemeral port) over a fresh temp folder. */
export async function startS3Server(): Promise<S3Server> {
  const dir = await mkdtemp(join(tmpdir(), "clarifai-audit-s3-"));
  const S3rver = createRequire(import.meta.url)("s3rver") as S3rverClass;
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: dir });
  atomicPuts(server.store);
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const env = {
    AWS_ACCESS_KEY_ID: S3RVER_KEY.id,
    AWS_SECRET_ACCESS_KEY: S3RVER_KEY.secret,
    AWS_REGION: "us-east-1",
    AWS_ENDPOINT_URL_S3: endpoint,
  };
  const client = new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_KEY.id, secretAccessKey: S3RVER_KEY.secret },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  return {
    endpoint,
    env,
    client,
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async listKeys(bucket, prefix = "") {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            ...(token !== undefined ? { ContinuationToken: token } : {}),
          }),
        );
        for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return keys.sort();
    },
    async readObject(bucket, key) {
      try {
        const reply = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return Buffer.from((await reply.Body?.transformToByteArray()) ?? []);
      } catch (error) {
        if ((error as Error).name === "NoSuchKey") return undefined;
        throw error;
      }
    },
    async writeObject(bucket, key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async stop() {
      client.destroy();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A front of an {@link S3Server} that honours conditional writes. */
export interface ConditionalFront {
  /** `http://127.0.0.1:PORT`: use as AWS_ENDPOINT_URL_S3. */
  endpoint: string;
  /** The server's env with this front as the endpoint. */
  env: Record<string, string>;
  /** Conditional PUTs refused with 412 so far. */
  readonly refused: number;
  close(): Promise<void>;
}

/**
 * An HTTP front of `s3` that does what s3rver does not: PutObject's If-None-Match: * and If-Match
 * (AWS S3's conditional writes), answering 412 PreconditionFailed when the object exists / has
 * another ETag, checked and forwarded one at a time (so a check and its write are atomic). Every
 * other request passes through unchanged. It stands for a store with conditional writes (AWS,
 * MinIO), which the stores probe for and then rely on.
 */
export async function startConditionalFront(s3: S3Server): Promise<ConditionalFront> {
  const upstream = new URL(s3.endpoint);
  let queue: Promise<void> = Promise.resolve();
  let refused = 0;
  const forward = (
    req: import("node:http").IncomingMessage,
    body: Buffer,
    res: import("node:http").ServerResponse,
  ) =>
    new Promise<void>((resolve) => {
      const up = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (reply) => {
          res.writeHead(reply.statusCode ?? 502, reply.headers);
          reply.pipe(res);
          reply.on("end", resolve);
        },
      );
      up.on("error", () => {
        res.destroy();
        resolve();
      });
      up.end(body);
    });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const ifNone = req.headers["if-none-match"];
      const ifMatch = req.headers["if-match"];
      if (
        req.method !== "PUT" ||
        (ifNone === undefined && ifMatch === undefined) ||
        req.headers["x-amz-copy-source"]
      ) {
        void forward(req, body, res);
        return;
      }
      queue = queue.then(async () => {
        const path = new URL(req.url ?? "/", "http://x").pathname.slice(1);
        const slash = path.indexOf("/");
        const bucket = path.slice(0, slash);
        const key = decodeURIComponent(path.slice(slash + 1));
        const etag = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
          (h) => h.ETag,
          () => undefined,
        );
        if ((ifNone === "*" && etag !== undefined) || (ifMatch !== undefined && ifMatch !== etag)) {
          refused++;
          res.writeHead(412, { "content-type": "application/xml" });
          res.end(
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>',
          );
          return;
        }
        delete req.headers["if-none-match"];
        delete req.headers["if-match"];
        await forward(req, body, res);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    env: { ...s3.env, AWS_ENDPOINT_URL_S3: endpoint },
    get refused() {
      return refused;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
