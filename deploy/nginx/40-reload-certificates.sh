#!/bin/sh
# Mounted into the nginx image's /docker-entrypoint.d/: starts a loop in the background that
# reloads nginx (no dropped connections) when certs/fullchain.pem changes, e.g. after the
# certbot profile renewed it. Checks every CERT_RELOAD_CHECK_S seconds (default 60).
CERT=${CERT_RELOAD_FILE:-/etc/nginx/certs/fullchain.pem}
EVERY=${CERT_RELOAD_CHECK_S:-60}
stamp() { cksum "$CERT" 2>/dev/null || echo none; }
(
  last=$(stamp)
  while sleep "$EVERY"; do
    now=$(stamp)
    if [ "$now" != "$last" ]; then
      echo "nginx: $CERT changed, reloading" >&2
      nginx -s reload && last=$now
    fi
  done
) &
