# The Bulkhead image: the `bulkhead` CLI, run by the DaemonSet as `bulkhead agent` (daemonset/daemonset.yaml).
#
#   docker build -t bulkhead:dev --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" .
#
# Two stages: the TypeScript build needs the dev dependencies (tsc); the runtime image gets the compiled dist/,
# the production dependencies and nft, nothing else.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Dependencies first: this layer is reused until the lock file changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json

FROM ${NODE_IMAGE} AS runtime
ARG NODE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="bulkhead" \
      org.opencontainers.image.description="Kubernetes NetworkPolicy enforcer for Flannel clusters: per-pod nftables chains beside Flannel" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"

# The agent runs nft (src/nft/process.ts) and tcpdump, which reads denied packets from nflog for the verdict
# stream (src/agent/monitor/reader.ts). Bookworm ships nftables 1.0.6, the version the dataplane is tested with.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nftables tcpdump \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/bulkhead
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
# `bulkhead` on PATH, so that `kubectl exec -n bulkhead-system ds/bulkhead -- bulkhead agent explain ...` works.
RUN chmod 0755 dist/cli/main.js && ln -s /opt/bulkhead/dist/cli/main.js /usr/local/bin/bulkhead

# Runs as root, on purpose, with every capability dropped but NET_ADMIN and SETGID (daemonset/daemonset.yaml):
# - nft programs the kernel over netlink, which checks CAP_NET_ADMIN in the effective set of the nft process.
#   Kubernetes cannot give a non-root user ambient capabilities, so a non-root agent would need file
#   capabilities on nft and allowPrivilegeEscalation, which is the weaker confinement of the two.
# - tcpdump, which reads the verdict stream from NFLOG, keeps root with -Z root; that calls initgroups (SETGID).
# - the CNI result cache (/var/lib/cni/results) is written by the container runtime as root, mode 0600: uid 0
#   reads it as its owner, without CAP_DAC_OVERRIDE.
# The root filesystem is mounted read-only; nft's transaction files go to an emptyDir at /tmp.
USER 0:0
EXPOSE 9650
ENTRYPOINT ["bulkhead"]
CMD ["--help"]
