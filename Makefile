SHELL := /bin/bash
.DEFAULT_GOAL := test
DEBS := nft:nftables ip:iproute2 socat:socat ncat:ncat curl:curl python3:python3 conntrack:conntrack sysctl:procps nsenter:util-linux openssl:openssl shellcheck:shellcheck tcpdump:tcpdump

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

# The seeds' story with real packets on a 2-node netns lab, one agent per node; cleans up after itself.
demo: build
	npx tsx test/dataplane/demo.ts

# A lab that stays up for you to explore (commands to try are printed); lab-down removes it.
lab-up: build
	npx tsx test/lab/lab-cli.ts up

lab-down: deps
	npx tsx test/lab/lab-cli.ts down

# Benchmarks (not tests): results and how to read them in bench/README.md.
bench: build
	bash bench/run-all.sh

# Long differential runs of the dataplane against the semantics: make fuzz-dataplane SEED=1 N=200
SEED ?= 1
N ?= 100
fuzz-dataplane: build
	SEED=$(SEED) N=$(N) npx tsx test/dataplane/fuzz-dataplane.ts

clean:
	rm -rf dist
