# Every target is also an npm script; npm scripts are what CI and the README use.
CLARIFAI_PROTO := node_modules/clarifai-nodejs-grpc/proto/clarifai
PROTO_FILES := api/service.proto api/resources.proto api/status/status.proto api/status/status_code.proto \
	api/utils/extensions.proto api/utils/matrix.proto auth/scope/scope.proto auth/types/types.proto \
	auth/util/extension.proto
RPC := clarifai.api.V2.PostAuditLogSearches
# The client package owns the protos and what is generated from them (buf.yaml and buf.gen.yaml name
# the same folders).
PROTO_DIR := packages/client/proto
GEN_DIR := packages/client/generated

.PHONY: proto generate build lint test bench check-generated clean

# Refresh the vendored protos from the pinned clarifai-nodejs-grpc devDependency (the closure of
# service.proto only: service_processed.proto redeclares every message and cannot be built beside it).
proto:
	rm -rf $(PROTO_DIR)
	mkdir -p $(PROTO_DIR)/proto/clarifai $(PROTO_DIR)/google/api
	cd $(CLARIFAI_PROTO) && cp --parents $(PROTO_FILES) $(CURDIR)/$(PROTO_DIR)/proto/clarifai/
	cp node_modules/clarifai-nodejs-grpc/LICENCE $(PROTO_DIR)/proto/LICENCE
	cp node_modules/google-proto-files/google/api/annotations.proto node_modules/google-proto-files/google/api/http.proto $(PROTO_DIR)/google/api/

# ts-proto stubs pruned to the RPC's closure, plus the descriptor image used for proto3 JSON.
generate:
	rm -rf $(GEN_DIR)
	npx buf generate --type $(RPC)
	npx buf build --type $(RPC) --exclude-source-info -o $(GEN_DIR)/audit_log_descriptor.binpb
	node scripts/embed-descriptor.mjs $(GEN_DIR)/audit_log_descriptor.binpb > $(GEN_DIR)/audit_log_descriptor.ts

check-generated: generate
	git diff --exit-code --stat -- $(GEN_DIR)
	@test -z "$$(git status --porcelain -- $(GEN_DIR))" || { echo "$(GEN_DIR)/ differs from make generate"; exit 1; }

build:
	npm run build

lint:
	npx biome ci .

test:
	npm test

bench:
	npm run bench

clean:
	rm -rf dist packages/*/dist
