# syntax=docker/dockerfile:1
#
# The `web` image: nginx serving the built dashboard and proxying
# /admin/api/ to admin-api and /v1/ to ingest, with deploy/nginx.conf (the
# same file `make run` uses). Build from the repository root:
#
#   docker build -f deploy/web.Dockerfile -t sentori/web .
#
# The template is rendered when the container starts (see web-entrypoint.sh),
# so the port and upstreams are runtime settings:
#   SENTORI_WEB_PORT (8000), SENTORI_ADMIN_API_UPSTREAM (admin-api:8081),
#   SENTORI_INGEST_UPSTREAM (ingest:8080).

ARG NODE_IMAGE=node:22-bookworm-slim
ARG NGINX_IMAGE=nginx:1.28-alpine

FROM ${NODE_IMAGE} AS build
WORKDIR /web
# Dependencies first, so editing the app does not reinstall them.
COPY web/package.json web/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM ${NGINX_IMAGE}
COPY deploy/nginx.conf /etc/sentori/nginx.conf.template
COPY --chmod=755 deploy/web-entrypoint.sh /usr/local/bin/sentori-web
COPY --from=build /web/dist /usr/share/sentori/web
# nginx.conf keeps every file it writes (config, pid, temp bodies, log
# links) relative to this prefix folder, so only it must be writable.
RUN mkdir -p /var/lib/sentori-web && chown nginx:nginx /var/lib/sentori-web
ENV SENTORI_WEB_PORT=8000 \
    SENTORI_WEB_ROOT=/usr/share/sentori/web \
    SENTORI_ADMIN_API_UPSTREAM=admin-api:8081 \
    SENTORI_INGEST_UPSTREAM=ingest:8080 \
    SENTORI_WEB_PREFIX=/var/lib/sentori-web
# The image's own `nginx` user (uid 101): the port is above 1024, so no
# root is needed at any point.
USER nginx
EXPOSE 8000
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["/usr/local/bin/sentori-web", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/sentori-web"]
# Not the base image's `nginx -g "daemon off;"`: the entry point runs nginx.
CMD []
