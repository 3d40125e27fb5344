SHELL := /bin/bash
.DEFAULT_GOAL := test
DEBS := nft:nftables ip:iproute2 socat:socat ncat:ncat curl:curl python3:python3 conntrack:conntrack

.PHONY: deps build test demo lab-up lab-down bench fuzz-dataplane clean

# Install what the project needs on a fresh Debian machine (root): Debian tools when missing, then npm ci.
deps:
	@missing=""; for pair in $(DEBS); do bin=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$bin >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	@[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund

build: deps
	npx tsc -p tsconfig.json
	npx tsc -p tsconfig.test.json

test: build
	npx vitest run

clean:
	rm -rf dist
