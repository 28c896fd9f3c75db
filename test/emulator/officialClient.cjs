// Runs queries through Clarifai's official Node client (clarifai-nodejs-grpc) and prints their
// normalized results as one JSON document. Run in a child process: grpc-js reads
// GRPC_DEFAULT_SSL_ROOTS_FILE_PATH once per process, and ClarifaiStub.grpc() reads CLARIFAI_GRPC_BASE.
// argv[2]: JSON array of requests in the client's own form (snake_case keys); argv[3]: the PAT.
const { ClarifaiStub, grpc } = require("clarifai-nodejs-grpc");

const KINDS = [
  "user",
  "role",
  "team",
  "app",
  "module",
  "module_version",
  "workflow",
  "workflow_version",
  "model",
  "model_version",
  "compute_cluster",
  "nodepool",
  "deployment",
];

function normalize(e) {
  return {
    seconds: String(e.timestamp.seconds),
    nanos: e.timestamp.nanos,
    user: e.user ? e.user.id : "",
    operation: e.operation,
    description: e.description,
    targets: e.targets.map((t) => {
      const kind = KINDS.find((k) => t[k] !== null && t[k] !== undefined);
      return `${kind}:${t[kind].id}`;
    }),
    details: e.details,
    success: e.success,
    req_id: e.req_id,
    source_ip: e.source_ip,
  };
}

async function main() {
  const requests = JSON.parse(process.argv[2]);
  const stub = ClarifaiStub.grpc();
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Key ${process.argv[3]}`);
  const results = [];
  for (const req of requests) {
    const res = await new Promise((resolve, reject) =>
      stub.PostAuditLogSearches(req, metadata, (err, r) => (err ? reject(err) : resolve(r))),
    );
    results.push({ code: res.status.code, entries: res.entries.map(normalize) });
  }
  process.stdout.write(JSON.stringify(results));
  stub.close();
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
