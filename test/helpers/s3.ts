/**
 * A real S3-compatible server for tests: s3rver (npm, 3.7.1) started in this process on
 * 127.0.0.1, an ephemeral port, its objects in a temp folder. It checks requests' SigV4 signatures
 * against its one key pair (S3RVER / S3RVER), so a wrong secret is refused as AWS would refuse it. It
 * does not implement conditional writes (If-None-Match / If-Match on PutObject are ignored), so the
 * stores' fallback (lock object) is what runs against it.
 *
 * `env` is what a client (in this process, or a child's environment) needs: the key pair, a region
 * and AWS_ENDPOINT_URL_S3. Start one server per test file (beforeAll), `stop` it in afterAll.
 * No jest imports here.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";

/** The part of s3rver's API used here (it ships no types). */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
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
