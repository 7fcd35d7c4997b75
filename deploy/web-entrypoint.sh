#!/bin/sh
# Entry point of the `web` image (deploy/web.Dockerfile).
#
#   sentori-web              render deploy/nginx.conf and run nginx in the foreground
#   sentori-web healthcheck  exit 0 when the dashboard answers on SENTORI_WEB_PORT
#
# The template listens on loopback for `make run`; a container must accept
# connections from other containers, so the listen address is rewritten as
# the template's header says. Paths can be overridden to run this script
# outside the image (its test does).
set -eu

: "${SENTORI_WEB_PORT:=8000}"
: "${SENTORI_WEB_ROOT:=/usr/share/sentori/web}"
: "${SENTORI_ADMIN_API_UPSTREAM:=admin-api:8081}"
: "${SENTORI_INGEST_UPSTREAM:=ingest:8080}"
: "${SENTORI_WEB_TEMPLATE:=/etc/sentori/nginx.conf.template}"
: "${SENTORI_WEB_PREFIX:=/var/lib/sentori-web}"
: "${NGINX:=nginx}"
export SENTORI_WEB_PORT SENTORI_WEB_ROOT SENTORI_ADMIN_API_UPSTREAM SENTORI_INGEST_UPSTREAM

case "${1:-}" in
  healthcheck)
    exec wget -q -T 5 -O /dev/null "http://127.0.0.1:${SENTORI_WEB_PORT}/"
    ;;
  "") ;;
  *)
    echo "usage: sentori-web [healthcheck]" >&2
    exit 2
    ;;
esac

case "$SENTORI_WEB_PORT" in
  '' | *[!0-9]*)
    echo "sentori-web: SENTORI_WEB_PORT must be a port number, got '$SENTORI_WEB_PORT'" >&2
    exit 2
    ;;
esac

# nginx.conf keeps every file it writes relative to the prefix folder (a
# tmpfs in compose); its logs go to the container's output.
mkdir -p "$SENTORI_WEB_PREFIX"
ln -sfn /dev/stdout "$SENTORI_WEB_PREFIX/access.log"
ln -sfn /dev/stderr "$SENTORI_WEB_PREFIX/error.log"

# Behind another proxy (Caddy, an ingress controller) every request comes
# from the proxy, and nginx would pass the proxy's address on as the
# client's. SENTORI_WEB_REAL_IP_FROM lists the proxies (addresses or CIDRs,
# separated by spaces or commas) whose X-Forwarded-For nginx then believes.
real_ip=""
for source in $(printf '%s' "${SENTORI_WEB_REAL_IP_FROM:-}" | tr ',' ' '); do
  case "$source" in
    *[!0-9a-fA-F.:/]*)
      echo "sentori-web: SENTORI_WEB_REAL_IP_FROM: '$source' is not an address or CIDR" >&2
      exit 2
      ;;
  esac
  real_ip="${real_ip}        set_real_ip_from ${source};\n"
done
if [ -n "$real_ip" ]; then
  real_ip="${real_ip}        real_ip_header X-Forwarded-For;\n        real_ip_recursive on;\n"
fi

# Only the four variables are substituted; nginx's own $variables stay.
# shellcheck disable=SC2016
envsubst '${SENTORI_WEB_PORT} ${SENTORI_WEB_ROOT} ${SENTORI_ADMIN_API_UPSTREAM} ${SENTORI_INGEST_UPSTREAM}' \
  <"$SENTORI_WEB_TEMPLATE" |
  sed 's/listen 127\.0\.0\.1:/listen /' |
  awk -v real_ip="$real_ip" '{ print } /^[[:space:]]*server_name / && real_ip != "" { printf "%s", real_ip }' \
    >"$SENTORI_WEB_PREFIX/nginx.conf"

exec "$NGINX" -c "$SENTORI_WEB_PREFIX/nginx.conf" -p "$SENTORI_WEB_PREFIX" -e /dev/stderr
