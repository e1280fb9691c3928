# octobridge: a drop-in for the `jvb` service of docker-jitsi-meet.
#
#   docker build -t octobridge .
#   docker run --network host -e XMPP_SERVER=... -e JVB_AUTH_PASSWORD=... octobridge
#
# Only Debian's archive and the npm registry are used (no GitHub, no PyPI), as on the hosts.

# ---------------------------------------------------------------- build
FROM debian:bookworm-slim AS build
WORKDIR /app
# npm to bootstrap: scripts/setup.sh installs Node 24 from the npm registry into .node/ and uses
# Debian's npm only for `npm pack` and `npm ci`.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates nodejs npm \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc .node-version ./
COPY scripts ./scripts
COPY native ./native
# The same set-up as `npm start` on a host: apt build packages (with bookworm-backports for meson),
# Node 24, npm ci, and the mediasoup worker build with native/build.sh and its patches.
RUN sh scripts/setup.sh start \
 && npm prune --omit=dev --ignore-scripts \
 && sh native/build.sh \
 && rm -rf native/build
COPY src ./src

# ---------------------------------------------------------------- runtime
FROM debian:bookworm-slim AS runtime
# The worker's shared libraries (docs/worker.md: libuv1, libssl3, libsrtp2-1, libabsl20220623), and for relays the
# WireGuard tools (`octobridge.relay.wireguard`). A bridge that manages its own interface needs
# `--cap-add NET_ADMIN --device /dev/net/tun --user root` (wireguard-go's control socket is root-only); otherwise
# set up the interface on the host and use `mode = external` with `--network host`.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libuv1 libssl3 libsrtp2-1 libabsl20220623 ca-certificates \
      iproute2 iputils-ping wireguard-tools wireguard-go \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin octobridge
WORKDIR /app
COPY --from=build /app/.node ./.node
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/native/out ./native/out
COPY --from=build /app/src ./src
COPY --from=build /app/package.json ./package.json
# A numeric user, so that Kubernetes can tell it is not root (runAsNonRoot).
USER 10001:10001
# In a container the private server must listen beyond loopback for the published port
# (docker-jitsi-meet publishes it as 127.0.0.1:8080 on the host).
ENV OCTOBRIDGE_PRIVATE_HOST=0.0.0.0 \
    NODE_ENV=production
# media (UDP, one port), private REST (health, stats, metrics), public (page, colibri-ws)
EXPOSE 10000/udp 8080 9090
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/app/.node/bin/node", "-e", "fetch('http://127.0.0.1:8080/about/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/app/.node/bin/node", "src/main.ts"]
